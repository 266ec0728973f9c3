//! `pound`: the reverse proxy, load balancer and HTTPS front-end.
//!
//! Start-up: read the command line, load and check the configuration (printing pound-style
//! diagnostics), then either stop (`-c`) or start serving.

mod auth;
mod backend;
mod balance;
mod cli;
mod daemon;
mod h2;
mod http;
mod io;
mod listen;
mod log;
mod proxy;
mod relay;
mod reply;
mod rules;
mod server;
mod session;
mod state;
mod support;
mod tls;

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
        // Certificates, keys and TLS settings are part of the configuration: a file that
        // cannot be used fails the check, not the start.
        match tls::check(&config) {
            Ok(warnings) => {
                for w in warnings {
                    eprintln!("pound: {w}");
                }
            }
            Err(e) => {
                eprintln!("pound: {e}");
                return ExitCode::FAILURE;
            }
        }
        if args.log_to_stderr || args.verbose {
            println!("pound: Config file {} is OK", args.config_file);
        }
        return ExitCode::SUCCESS;
    }

    if let Some(s) = support::first_unsupported(&config) {
        eprintln!("pound: {}: {} is not supported yet", s.span, s.keyword);
        return ExitCode::FAILURE;
    }
    start(&args, &config)
}

/// Opens the listeners, becomes a daemon if asked, and serves until a signal stops pound.
fn start(args: &cli::Args, config: &pound_config::Config) -> ExitCode {
    use pound_config::model::LogFacility;

    if config.listeners.is_empty() {
        eprintln!("pound: no listeners defined");
        return ExitCode::FAILURE;
    }
    let state = match state::State::build(config, args.dns) {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("pound: {w}");
            }
            s
        }
        Err(e) => {
            eprintln!("pound: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut sockets = Vec::new();
    for l in &config.listeners {
        match listen::open(&l.addr, args.dns, l.client) {
            Ok(s) => sockets.push(s),
            Err(e) => {
                eprintln!("pound: {}: {e}", l.span);
                return ExitCode::FAILURE;
            }
        }
    }
    let foreground = args.foreground || args.log_to_stderr || !config.global.daemon;
    let target = match &config.global.log_facility {
        _ if args.log_to_stderr => log::Target::Stdio,
        LogFacility::Stderr if foreground => log::Target::Stdio,
        LogFacility::Stderr => log::Target::Syslog(log::facility("daemon")),
        LogFacility::Syslog(name) => log::Target::Syslog(log::facility(name)),
    };
    if !foreground {
        if let Err(e) = daemon::detach() {
            eprintln!("pound: cannot become a daemon: {e}");
            return ExitCode::FAILURE;
        }
    }
    log::init(target);
    logmsg!(Notice, "starting...");
    let pid_file = args
        .pid_file
        .clone()
        .or_else(|| config.global.pid_file.clone())
        .unwrap_or_else(|| cli::default_pid_file().into());
    let written = daemon::write_pid_file(&pid_file);
    let code = server::run(state, sockets, written.then_some(pid_file));
    ExitCode::from(code as u8)
}
