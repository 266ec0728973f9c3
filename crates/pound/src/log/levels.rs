//! Request-log levels that change while pound runs (pound 4.23, `poundctl log`): the
//! server's, and each listener's own, which when unset follows the server's.
//!
//! A level is a log format by name: one of the built-in ones (`null`, `regular`, ...,
//! also by number) or one defined with `LogFormat`. Each choice is one atomic pointer; a
//! request reads its listener's (and at most the server's) once, when it is logged.

use std::sync::Arc;

use arc_swap::ArcSwap;
use pound_config::model::{LogLevel, BUILTIN_LOG_FORMATS};
use pound_config::Config;

use super::format::{Format, BUILTIN};

/// A log level: its name and its format.
pub struct Choice {
    pub name: String,
    pub format: Arc<Format>,
}

/// The levels one may choose and the server's level.
pub struct Levels {
    choices: Vec<Arc<Choice>>,
    global: ArcSwap<Choice>,
}

impl Levels {
    /// The built-in formats and those of the configuration, with the global `LogLevel`.
    pub fn build(config: &Config) -> Result<Levels, String> {
        let mut choices = Vec::new();
        for (name, spec) in BUILTIN_LOG_FORMATS.iter().zip(BUILTIN) {
            choices.push(Arc::new(Choice {
                name: name.to_string(),
                format: Arc::new(Format::compile(spec)?),
            }));
        }
        for f in &config.log_formats {
            choices.push(Arc::new(Choice {
                name: f.name.clone(),
                format: Arc::new(Format::compile(&f.format)?),
            }));
        }
        let levels = Levels {
            global: ArcSwap::new(choices[1].clone()),
            choices,
        };
        levels.global.store(levels.of(&config.global.log_level));
        Ok(levels)
    }

    /// The choice a configuration's `LogLevel` names.
    pub fn of(&self, level: &LogLevel) -> Arc<Choice> {
        let i = match level {
            LogLevel::Builtin(n) => usize::from(*n),
            LogLevel::Named(i) => BUILTIN.len() + *i,
        };
        self.choices.get(i).unwrap_or(&self.choices[1]).clone()
    }

    /// The level `name` names: a built-in level's number or name, or a `LogFormat` name.
    pub fn find(&self, name: &str) -> Option<Arc<Choice>> {
        if let Ok(n) = name.parse::<usize>() {
            return self.choices.get(n).filter(|_| n < BUILTIN.len()).cloned();
        }
        self.choices.iter().find(|c| c.name == name).cloned()
    }

    pub fn global(&self) -> Arc<Choice> {
        self.global.load_full()
    }

    pub fn set_global(&self, c: Arc<Choice>) {
        self.global.store(c);
    }

    /// The `null` level.
    pub fn none(&self) -> Arc<Choice> {
        self.choices[0].clone()
    }
}

/// A listener's level: its own, or the server's.
pub struct ListenerLog {
    own: ArcSwap<Option<Arc<Choice>>>,
    levels: Arc<Levels>,
}

impl ListenerLog {
    pub fn new(levels: Arc<Levels>, own: Option<Arc<Choice>>) -> ListenerLog {
        ListenerLog {
            own: ArcSwap::from_pointee(own),
            levels,
        }
    }

    /// The format requests of the listener are logged with now.
    pub fn format(&self) -> Arc<Format> {
        match &**self.own.load() {
            Some(c) => c.format.clone(),
            None => self.levels.global().format.clone(),
        }
    }

    /// The listener's own level, if it has one.
    pub fn own(&self) -> Option<Arc<Choice>> {
        (*self.own.load_full()).clone()
    }

    pub fn set(&self, c: Option<Arc<Choice>>) {
        self.own.store(Arc::new(c));
    }

    pub fn levels(&self) -> &Levels {
        &self.levels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(text: &str) -> Config {
        let fs = pound_config::env::MemoryFs::new().with_file("p.cfg", text);
        let opts = pound_config::Options {
            include_dir: None,
            warn_deprecated: false,
        };
        pound_config::load(&fs, "p.cfg", &opts)
            .config
            .expect("valid")
    }

    #[test]
    fn levels_by_number_and_name() {
        let c = config("LogFormat \"mine\" \"%a %r\"\nLogLevel 2\n");
        let levels = Arc::new(Levels::build(&c).unwrap());
        assert_eq!(levels.global().name, "extended");
        assert_eq!(levels.find("0").unwrap().name, "null");
        assert_eq!(levels.find("combined").unwrap().name, "combined");
        assert_eq!(levels.find("mine").unwrap().name, "mine");
        assert!(levels.find("6").is_none());
        assert!(levels.find("nosuch").is_none());
        let l = ListenerLog::new(levels.clone(), None);
        assert!(!l.format().is_null());
        levels.set_global(levels.none());
        assert!(
            l.format().is_null(),
            "a listener without its own level follows the server"
        );
        l.set(levels.find("regular"));
        assert!(!l.format().is_null());
        assert_eq!(l.own().unwrap().name, "regular");
    }
}
