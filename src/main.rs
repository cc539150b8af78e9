fn main() {
    std::process::exit(uagent::cli::main());
}
