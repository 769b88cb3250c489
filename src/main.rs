//! The `morapi` binary: parses the command line and hands over to the library.

fn main() -> std::process::ExitCode {
    morapi::cli::main()
}
