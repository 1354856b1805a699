fn main() {
    println!("pinned");
}
