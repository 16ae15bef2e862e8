//! `flexcore-load`: parse the command line, build a runtime with as many
//! threads as asked (one by default: a current-thread runtime, the cheapest
//! client when it shares the cores with the server), run, exit with the code.
#![forbid(unsafe_code)]

use clap::Parser;
use flexcore_benches::cli::{self, Cli};

fn main() {
    let cli = Cli::parse();
    let threads = cli.threads();
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread().enable_all().build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    };
    let code = match runtime {
        Ok(runtime) => runtime.block_on(cli::execute(cli)).unwrap_or_else(|e| {
            eprintln!("flexcore-load: {e:#}");
            1
        }),
        Err(e) => {
            eprintln!("flexcore-load: cannot start the runtime: {e}");
            1
        }
    };
    std::process::exit(code);
}
