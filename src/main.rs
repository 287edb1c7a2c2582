// glibc's malloc and memmove were about a fifth of the server's cycles under load
// (benches/RESULTS.md, "The posting stall"); mimalloc's thread-local pages cost less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(pilcrow::cli::main());
}
