fn main() {
    std::process::exit(pilcrow::cli::main());
}
