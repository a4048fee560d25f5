//! The `gongyi` binary: parse the command line and run it.

/// mimalloc: the server allocates many short-lived buffers on every thread (JSON bodies, rows);
/// glibc's arenas spent a tenth of a listing request in malloc and lock hand-offs.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gongyi::cli::main()
}
