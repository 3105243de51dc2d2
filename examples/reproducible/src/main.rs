//! A stand-in for a beacon node: prints its version.

fn main() {
    println!("beacon {}", option_env!("BEACON_VERSION").unwrap_or("dev"));
}
