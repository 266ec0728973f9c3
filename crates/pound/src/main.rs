//! `pound`: the reverse proxy, load balancer and HTTPS front-end.
//!
//! Start-up: read the command line, load and check the configuration (printing pound-style
//! diagnostics), then either stop (`-c`) or start serving.

use std::process::ExitCode;

use pound::{
    cli, control, daemon, listen, log, logmsg, privileges, server, state, supervisor, support, tls,
    watch, workers,
};

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
    if args.close_extra_fds {
        daemon::close_extra_fds();
    }

    // pound checks a given include directory before it reads anything.
    if let (true, Some(dir)) = (args.include_dir_given, &args.include_dir) {
        match std::fs::metadata(dir) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                eprintln!("pound: include-dir: {} is not a directory", dir.display());
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!(
                    "pound: include-dir: can't stat {}: {}",
                    dir.display(),
                    pound_config::env::describe_io_error(&e)
                );
                return ExitCode::FAILURE;
            }
        }
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
    if !args.dns {
        if let Some(e) = support::dns_disabled(&config) {
            eprintln!("pound: {e}");
            return ExitCode::FAILURE;
        }
    }
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
///
/// The order matters:
/// 1. Everything that reads files or resolves names happens first, with the terminal still
///    attached, so an error is printed there: the state (certificates, error pages, backends),
///    the `User` and `Group` names, the listeners.
/// 2. Then the detach (daemon mode), synchronous logging, `starting...` and the PID file.
/// 3. With a supervisor (daemon mode and `Supervisor 1`), it forks the worker; each worker
///    inherits the open listeners. Without one, this process is the worker.
/// 4. The worker enters the `RootJail`, drops privileges to `User` and `Group`, starts the
///    log writer thread and the runtime, and reports that it serves, at which point the
///    command that started a daemon exits 0.
/// 5. The process that wrote the PID file (the supervisor, else the worker) removes it.
fn start(args: &cli::Args, config: &pound_config::Config) -> ExitCode {
    use pound_config::model::LogFacility;

    // pound's last word when it cannot start after reading its configuration.
    let terminated = |e: &dyn std::fmt::Display| {
        eprintln!("pound: {e}");
        eprintln!("pound: pound terminated");
        ExitCode::FAILURE
    };
    if config.listeners.is_empty() {
        return terminated(&"no listeners defined");
    }
    let mut state = match state::State::build(config, args.dns) {
        Ok(s) => {
            for w in &s.warnings {
                eprintln!("pound: {w}");
            }
            s
        }
        // What pound finds while reading its configuration (certificates, files): no
        // "pound terminated" after it.
        Err(e) => {
            eprintln!("pound: {e}");
            return ExitCode::FAILURE;
        }
    };
    let identity = match privileges::Identity::resolve(config) {
        Ok(id) => id,
        Err(e) => return terminated(&e),
    };
    for l in &config.listeners {
        if let Err(e) = listen::check(&l.addr, args.dns) {
            eprintln!("pound: {}: {e}", l.span);
            return ExitCode::FAILURE;
        }
    }
    let foreground = args.foreground || args.log_to_stderr || !config.global.daemon;
    let to_stderr =
        args.log_to_stderr || (foreground && config.global.log_facility == LogFacility::Stderr);
    // In the foreground on standard error, pound says `starting...` before it binds its
    // listeners, so a bind error follows it.
    let started_early = to_stderr;
    if started_early {
        eprintln!("pound: starting...");
    }
    let mut sockets = Vec::new();
    for l in &config.listeners {
        // A tunnel's protocol may have the server speak first (SMTP, MySQL...): its
        // connections are taken at once, not when the client's first bytes come.
        let defer = (!l.tunnel).then_some(l.client);
        match listen::open(&l.addr, args.dns, defer) {
            Ok(s) => sockets.push(s),
            Err(e) => return terminated(&format!("{}: {e}", l.span)),
        }
    }

    // The worker settings of pound 4.21 and 4.23, with the descriptors now open.
    if let Err(e) = worker_settings(config, &mut state) {
        return terminated(&e);
    }

    // The control socket is opened here, before privileges are dropped: `ChangeOwner` hands
    // it to `User`/`Group`. Opening it before the detach reports errors on the terminal, and
    // before the fork lets every worker inherit it.
    let control = match &config.global.control {
        Some(c) => match control::open(c, |p| identity.chown(p)) {
            Ok(socket) => Some(socket),
            Err(e) => return terminated(&e),
        },
        None => None,
    };

    let target = match &config.global.log_facility {
        _ if args.log_to_stderr => log::Target::Stdio,
        LogFacility::Stderr if foreground => log::Target::Stdio,
        LogFacility::Stderr => log::Target::Syslog(log::facility("daemon")),
        LogFacility::Syslog(name) => log::Target::Syslog(log::facility(name)),
    };
    let pid_path = args
        .pid_file
        .clone()
        .or_else(|| config.global.pid_file.clone())
        .unwrap_or_else(|| cli::default_pid_file().into());
    let startup = if foreground {
        daemon::Startup::foreground(target != log::Target::Stdio)
    } else {
        match daemon::detach() {
            Ok(s) => s,
            Err(e) => {
                eprintln!("pound: cannot become a daemon: {e}");
                return ExitCode::FAILURE;
            }
        }
    };
    // From here on, lines go to the log target; still no thread, so the supervisor can fork.
    if let Some(tag) = &config.global.log_tag {
        log::set_tag(tag);
    }
    log::init_direct(target.clone());
    if !started_early {
        logmsg!(Notice, "starting...");
    }
    // `PIDFile "-"` (pound 4.19), or `-p -`: no PID file.
    let mut pid_file = if pid_path.as_os_str() == "-" {
        None
    } else {
        daemon::PidFile::create(&pid_path)
    };
    let supervised = !foreground && config.global.supervisor;
    let jail = privileges::Jail::new(config);
    // The handle that removes the PID file is a directory outside the jail, a way out of it
    // for code running inside: a jailed worker without a supervisor gives it up once in
    // the jail, and the file then stays behind at exit (as pound.8 allows).
    let jailed_pid_file = if jail.is_some() && !supervised {
        pid_file.take()
    } else {
        None
    };
    let worker = Worker {
        state,
        sockets,
        control,
        identity,
        jail,
        target,
        pid_dir: pid_file.as_ref().filter(|_| supervised).map(|p| p.dir_fd()),
        pid_file: jailed_pid_file,
    };

    let code = if supervised {
        // Each worker is a new child holding a copy of `worker`: taking it in one child
        // leaves it in the supervisor for the next.
        let mut worker = Some(worker);
        let grace = std::time::Duration::from_secs(config.global.grace.into());
        supervisor::run(startup, grace, |s| worker.take().map_or(1, |w| w.run(s)))
    } else {
        worker.run(startup)
    };
    if let Some(p) = pid_file {
        p.remove();
        log::flush();
    }
    ExitCode::from(code.clamp(0, 255) as u8)
}

/// The smallest stack a runtime thread can run pound on; a smaller `WorkerStackSize` is
/// raised to it, with a warning.
const MIN_STACK: u64 = 256 * 1024;

/// `WorkerStackSize` (pound 4.21) and the connection queue's bound from
/// `ConnectionQueueSize` or the descriptor limit and `ReserveFD` (pound 4.23), each refused
/// with pound's words where pound refuses it.
fn worker_settings(config: &pound_config::Config, state: &mut state::State) -> Result<(), String> {
    let g = &config.global;
    if let Some(n) = g.worker_stack {
        // Below PTHREAD_STACK_MIN pthread_attr_setstacksize(3) refuses.
        if n < 16384 {
            return Err("can't set worker stack size: Invalid argument".into());
        }
        if n < MIN_STACK {
            logmsg!(
                Warning,
                "WorkerStackSize {n} is too small for the runtime; {MIN_STACK} used"
            );
        }
        state.stack = Some(n.max(MIN_STACK) as usize);
    }
    // SAFETY: getrlimit writes the structure it is given.
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    let limit = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0 {
        rl.rlim_cur
    } else {
        libc::RLIM_INFINITY
    };
    let open = std::fs::read_dir("/proc/self/fd").map_or(3, |d| d.count() as u64);
    // The file watcher takes a descriptor of its own (inotify).
    let reserve = u64::from(g.reserve_fd)
        + u64::from(!state.watched.is_empty() || !state.htpasswd.is_empty());
    state.queue =
        workers::queue_size(g.connection_queue, limit, g.worker_max_count, open, reserve)?;
    Ok(())
}

/// What the process that serves needs, prepared before any fork.
struct Worker {
    state: state::State,
    sockets: Vec<listen::Socket>,
    /// The control socket, opened before privileges were dropped.
    control: Option<control::Socket>,
    identity: privileges::Identity,
    jail: Option<privileges::Jail>,
    target: log::Target,
    /// The supervisor's handle on the PID file's directory, which a worker closes.
    pid_dir: Option<std::os::fd::RawFd>,
    /// The PID file of a jailed server without a supervisor: removed if the jail cannot be
    /// entered, else given up inside it.
    pid_file: Option<daemon::PidFile>,
}

impl Worker {
    /// Enters the jail, drops privileges and serves until a signal stops pound; returns the
    /// exit status.
    fn run(self, mut startup: daemon::Startup) -> i32 {
        if let Some(fd) = self.pid_dir {
            // SAFETY: this process's copy of the supervisor's descriptor, used by nothing
            // here; the supervisor keeps its own.
            unsafe { libc::close(fd) };
        }
        // Directories and inotify watches are set up while paths still resolve.
        let watcher = watch::Prepared::new(
            &self.state.watched,
            &self.state.htpasswd,
            self.state.watcher_ttl,
        );
        if let Some(jail) = &self.jail {
            let pid_file = self.pid_file;
            if let Err(e) = jail.enter() {
                startup.failed(&e);
                if let Some(p) = pid_file {
                    p.remove();
                }
                return 1;
            }
            drop(pid_file);
        }
        if let Err(e) = self.identity.switch() {
            startup.failed(&e);
            return 1;
        }
        log::init(self.target);
        if let Some(w) = watcher {
            w.start();
        }
        server::run(self.state, self.sockets, self.control, None, startup)
    }
}
