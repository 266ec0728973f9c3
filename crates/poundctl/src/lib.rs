//! `poundctl`: show the state of a running pound and change it, through the control socket
//! that the `Control` statement opens (control-api.md).
//!
//! It behaves like the poundctl of pound 4.x so that existing habits and scripts carry over:
//! the same commands, `/L/S/B` addresses, options, requests on the wire, human-readable
//! layout, JSON output and exit status. Every failure is one line, `poundctl: MESSAGE`, on
//! standard error and exit status 1.
//!
//! This crate knows the control protocol and the configuration language (to find the
//! socket), nothing of the engine; the `poundctl` binary of the `pound` package runs it.

mod address;
mod args;
mod client;
mod command;
mod conf;
mod json;
mod locate;
mod remote;
#[cfg(test)]
mod render;
pub mod template;
mod templates;
mod url;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use serde_json::Value;

use args::{Invocation, Options};
use command::{Command, ReplyKind};
use url::Target;

/// The whole program: parses the command line, does what it asks and says how it went.
pub fn main() -> ExitCode {
    let result = match args::parse(std::env::args_os().skip(1)) {
        Err(message) => Err(message),
        Ok(Invocation::Help) => emit(&args::usage()),
        Ok(Invocation::Version) => emit(&args::version()),
        Ok(Invocation::Run(opts, command)) => run(&opts, &command),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("poundctl: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Finds pound, sends the command's request and shows the reply.
fn run(opts: &Options, command: &Command) -> Result<(), String> {
    let home = std::env::var_os("HOME").map(PathBuf::from);
    let conf = read_conf(home.as_deref())?;
    // `-S NAME` takes one `Server` section as it is; otherwise the global statements.
    let settings = match &opts.server {
        Some(name) => conf.server(name)?.clone(),
        None => conf.global.clone(),
    };
    let where_ = match opts.socket.clone().or(settings.url.clone()) {
        Some(url) => url,
        None => {
            let mut notes = Vec::new();
            let located = locate::socket(opts, &mut notes);
            for note in notes {
                eprintln!("poundctl: {note}");
            }
            located?.display().to_string()
        }
    };
    let target = Target::parse(&where_)?;
    if opts.verbose > 0 {
        eprintln!("poundctl: info: using socket {where_}");
        eprintln!("poundctl: connecting to {where_}");
    }
    let (method, target_path) = command.request();
    let reply = match &target {
        Target::Socket(path) => {
            client::exchange(connect(path)?, method, &target_path, &client::LOCAL)
        }
        Target::Remote(r) => {
            let tls = remote::Tls {
                ca: opts.ca.clone().map(|c| vec![c]).unwrap_or_else(|| {
                    settings
                        .ca_file
                        .iter()
                        .chain(settings.ca_path.iter())
                        .cloned()
                        .collect()
                }),
                client_cert: opts.client_cert.clone().or(settings.client_cert.clone()),
                insecure: opts.insecure || settings.verify == Some(false),
            };
            let stream = remote::connect(r, &tls)?;
            let host = r.host_header();
            let peer = client::Peer {
                host: &host,
                credentials: r.credentials.as_deref(),
            };
            client::exchange(stream, method, &format!("{}{target_path}", r.prefix), &peer)
        }
    }
    .map_err(|f| f.to_string())?;
    show(opts, &conf, home.as_deref(), command, &reply)
}

/// Reads `~/.poundctl` (or `$POUNDCTL_CONF`); its problems are printed, and errors in it
/// stop the program as they stop pound's poundctl.
fn read_conf(home: Option<&Path>) -> Result<conf::Conf, String> {
    let env = std::env::var("POUNDCTL_CONF").ok();
    let Some(file) = conf::file_name(env.as_deref(), home) else {
        return Ok(conf::Conf::default());
    };
    match conf::read(&file, env.is_some()) {
        Ok((conf, notes)) => {
            for note in notes {
                eprintln!("poundctl: {note}");
            }
            Ok(conf)
        }
        Err(errors) => match errors.split_last() {
            Some((last, rest)) => {
                for e in rest {
                    eprintln!("poundctl: {e}");
                }
                Err(last.clone())
            }
            None => Err(format!("{}: unreadable", file.display())),
        },
    }
}

/// Connects to the control socket.
fn connect(socket: &Path) -> Result<UnixStream, String> {
    // sun_path holds 108 bytes including the terminating NUL.
    if socket.as_os_str().len() > 107 {
        return Err(format!("{}: socket name too long", socket.display()));
    }
    UnixStream::connect(socket).map_err(|e| {
        format!(
            "can't connect to {}: {}",
            socket.display(),
            client::describe(&e)
        )
    })
}

/// Prints a successful reply: JSON with `-j`, else through the template. A change
/// (`enable`, `disable`) that pound reports as not made is a failure.
fn show(
    opts: &Options,
    conf: &conf::Conf,
    home: Option<&Path>,
    command: &Command,
    reply: &Value,
) -> Result<(), String> {
    if opts.json {
        emit(&json::format(reply, opts.indent))?;
    }
    match command.reply_kind() {
        ReplyKind::Flag => match reply {
            Value::Bool(true) => Ok(()),
            Value::Bool(false) => Err("command failed".into()),
            other => Err(format!(
                "unexpected reply: expected true or false, got {}",
                json::kind(other)
            )),
        },
        _ if opts.json => Ok(()),
        // Every listing is an object; anything else is not pound talking.
        _ if !reply.is_object() => Err(format!(
            "unexpected reply: expected an object, got {}",
            json::kind(reply)
        )),
        _ => lay_out(opts, conf, home, reply),
    }
}

/// Runs the template chosen by `-t`/`-T` (or `~/.poundctl`, or the template path) on the
/// reply. What the template printed before an error is printed too, as pound's poundctl
/// does; warnings (such as `exists` on something that is not an object) do not fail.
fn lay_out(
    opts: &Options,
    conf: &conf::Conf,
    home: Option<&Path>,
    reply: &Value,
) -> Result<(), String> {
    let source = match opts.template_file.as_ref().or(conf.template_file.as_ref()) {
        Some(file) => templates::named(file)?,
        None => {
            let path = std::env::var("POUND_TMPL_PATH")
                .ok()
                .or_else(|| conf.template_path.clone())
                .unwrap_or_else(templates::default_path);
            templates::search(&path, home)?
        }
    };
    let file_name = match &source {
        templates::Source::File(path, _) => path.display().to_string(),
        templates::Source::BuiltIn => "poundctl.tmpl".to_string(),
    };
    let parsed =
        template::Templates::parse_named(&file_name, source.text()).map_err(|e| e.to_string())?;
    let name = opts
        .template_name
        .as_deref()
        .or(conf.template_name.as_deref())
        .unwrap_or("default");
    let run = parsed.run(name, reply);
    emit(&run.output)?;
    for w in &run.warnings {
        eprintln!("poundctl: {w}");
    }
    match run.error {
        Some(e) => Err(e.to_string()),
        None => Ok(()),
    }
}

/// Writes `text` to standard output; a closed pipe or full disk is an error, not a panic.
fn emit(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("error writing output: {}", client::describe(&e)))
}
