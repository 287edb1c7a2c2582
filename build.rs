// Migrations are embedded in the binary by `embed_migrations!`; without this,
// cargo would not notice a new migration folder and would keep the old set.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
