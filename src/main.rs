//! The `morapi` binary: parses the command line and hands over to the library.

/// Many short-lived allocations on many threads (rows, XML, HTTP): mimalloc spends markedly less
/// CPU on them than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    morapi::cli::main()
}
