//! The `gongyi` binary: parse the command line and run it.

/// mimalloc: the server allocates many short-lived buffers on every thread (JSON bodies, rows);
/// glibc's arenas spent a tenth of a listing request in malloc and lock hand-offs. Built without
/// transparent huge pages (`no_thp`): with them, memory it gave back and took again came back as
/// 2 MiB pages the kernel zeroed whole (`clear_page_erms`, 3 % of the machine in the bid rush).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    gongyi::cli::main()
}
