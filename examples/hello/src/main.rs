//! The example program wharf packages in its quick start.

fn main() {
    let config = std::fs::read_to_string("/etc/hello/hello.toml").unwrap_or_default();
    let greeting = config
        .lines()
        .find_map(|l| l.strip_prefix("greeting = "))
        .map_or("hello", |g| g.trim_matches('"'));
    println!("{greeting} from a package wharf built");
}
