//! `cargo run -p strait-conf --example check -- FILE…`: what `strait -t -c FILE` will print.

use std::path::Path;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut code = ExitCode::SUCCESS;
    for arg in std::env::args().skip(1) {
        let path = Path::new(&arg);
        match strait_conf::check_file(path) {
            Ok(o) => {
                for i in &o.ignored {
                    eprintln!("strait: {i}");
                }
                eprintln!("strait: {}", strait_conf::valid_message(path));
            }
            Err(errors) => {
                eprintln!("{errors}");
                code = ExitCode::FAILURE;
            }
        }
    }
    code
}
