//! `supervisord`: argv in, exit status out; the library does the work.

fn main() {
    let code = supervisor::daemon::main(std::env::args().collect());
    std::process::exit(code);
}
