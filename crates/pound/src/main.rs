//! `pound`: the reverse proxy, load balancer and HTTPS front-end.
//!
//! Start-up: read the command line, load and check the configuration (printing pound-style
//! diagnostics), then either stop (`-c`) or start serving.

mod cli;
mod support;

use std::process::ExitCode;

use pound_config::{env::System, load, Options};

fn main() -> ExitCode {
    let args = match cli::parse(std::env::args_os().skip(1)) {
        Ok(args) => args,
        Err(message) => {
            eprintln!("pound: {message}");
            return ExitCode::FAILURE;
        }
    };
    if args.help {
        print!("{}", cli::usage());
        return ExitCode::SUCCESS;
    }
    if args.version {
        print!("{}", cli::version());
        return ExitCode::SUCCESS;
    }

    let options = Options {
        include_dir: args.include_dir.clone(),
        warn_deprecated: args.warn_deprecated,
    };
    let loaded = load(&System::default(), &args.config_file, &options);
    for d in &loaded.diagnostics {
        eprintln!("pound: {d}");
    }
    let Some(config) = loaded.config else {
        return ExitCode::FAILURE;
    };
    if args.check_only {
        if args.log_to_stderr || args.verbose {
            println!("pound: Config file {} is OK", args.config_file);
        }
        return ExitCode::SUCCESS;
    }

    if let Some(s) = support::first_unsupported(&config) {
        eprintln!("pound: {}: {} is not supported yet", s.span, s.keyword);
        return ExitCode::FAILURE;
    }
    // Every listener statement is refused above until the proxy engine exists, so a
    // configuration that gets here defines no listener.
    eprintln!("pound: no listeners defined");
    ExitCode::FAILURE
}
