// glibc's malloc and memmove were about a fifth of the server's cycles under load
// (benches/RESULTS.md, "The posting stall"); mimalloc's thread-local pages cost less.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    // No transparent huge pages: mimalloc asks for them on its arenas, and
    // then memory becomes resident 2 MiB at a time: 10,000 idle live
    // streams weighed 20.8 KiB each with them, 15.6 without
    // (benches/RESULTS.md, "Live readers"). Failing only keeps them.
    let _ = nix::sys::prctl::set_thp_disable(true);
    std::process::exit(pilcrow::cli::main());
}
