//! The `gongyi` binary: parse the command line and run it.

fn main() -> std::process::ExitCode {
    gongyi::cli::main()
}
