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
mod json;
mod locate;
mod render;

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::process::ExitCode;

use serde_json::Value;

use args::{Invocation, Options};
use command::{Command, ReplyKind};

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

/// Finds the socket, sends the command's request and shows the reply.
fn run(opts: &Options, command: &Command) -> Result<(), String> {
    let mut notes = Vec::new();
    let located = locate::socket(opts, &mut notes);
    for note in notes {
        eprintln!("poundctl: {note}");
    }
    let socket = located?;
    if opts.verbose > 0 {
        eprintln!("poundctl: info: using socket {}", socket.display());
        eprintln!("poundctl: connecting to {}", socket.display());
    }
    let stream = connect(&socket)?;
    let (method, target) = command.request();
    let reply = client::exchange(stream, method, &target).map_err(|f| f.to_string())?;
    show(opts, command, &reply)
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

/// Prints a successful reply: JSON with `-j`, else the human-readable layout. A change
/// (`enable`, `disable`) that pound reports as not made is a failure.
fn show(opts: &Options, command: &Command, reply: &Value) -> Result<(), String> {
    if opts.json {
        emit(&json::format(reply, opts.indent))?;
    }
    match command.reply_kind() {
        ReplyKind::Flag => match reply {
            Value::Bool(true) => Ok(()),
            Value::Bool(false) => Err("command failed".into()),
            other => Err(format!(
                "unexpected reply: expected true or false, got {}",
                render::kind(other)
            )),
        },
        _ if opts.json => Ok(()),
        ReplyKind::Object => emit(&render::render(reply)?),
        ReplyKind::Core => emit(&render::core(reply)),
        ReplyKind::Log => emit(&render::log_level(reply)),
    }
}

/// Writes `text` to standard output; a closed pipe or full disk is an error, not a panic.
fn emit(text: &str) -> Result<(), String> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| format!("error writing output: {}", client::describe(&e)))
}
