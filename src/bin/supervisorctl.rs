//! `supervisorctl`: argv → [`supervisor::ctl::main`] → exit status.

fn main() {
    let status = supervisor::ctl::main(std::env::args().collect());
    std::process::exit(status);
}
