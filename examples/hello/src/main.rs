fn main() {
    println!("hello from wharf");
}
