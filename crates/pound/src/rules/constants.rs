//! `Constant` values at run time (pound 4.23, `%[const NAME]`).
//!
//! Each definition is one cell, shared by every scope that sees it; a scope's table maps the
//! names it sees to cells, its own definitions over those of its surroundings (service over
//! listener over top level). A `-filewatch` constant's cell is replaced when its file
//! changes, so every table sees the new value at once.

use std::collections::HashMap;
use std::sync::Arc;

use arc_swap::ArcSwap;
use pound_config::model::Constant;

/// One constant's value.
pub type Cell = Arc<ArcSwap<Vec<u8>>>;

/// The constants one scope sees.
#[derive(Default, Clone)]
pub struct Constants {
    map: HashMap<Box<str>, Cell>,
}

/// A watched constant: its file, `-trim`, and the cell that takes the new contents.
pub struct WatchedConstant {
    pub path: std::path::PathBuf,
    pub trim: bool,
    pub cell: Cell,
}

impl Constants {
    /// The table of a scope that defines `defs` inside `outer`; the cells of watched
    /// definitions are added to `watched`.
    pub fn scope(
        outer: &Constants,
        defs: &[Constant],
        watched: &mut Vec<WatchedConstant>,
    ) -> Constants {
        let mut table = outer.clone();
        for c in defs {
            let cell: Cell = Arc::new(ArcSwap::from_pointee(c.value.clone()));
            if let Some(path) = &c.watch {
                watched.push(WatchedConstant {
                    path: path.clone(),
                    trim: c.trim,
                    cell: cell.clone(),
                });
            }
            table.map.insert(c.name.as_str().into(), cell);
        }
        table
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The value of `name`, if the scope has such a constant.
    pub fn get(&self, name: &str) -> Option<Arc<Vec<u8>>> {
        self.map.get(name).map(|cell| cell.load_full())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn def(name: &str, value: &str) -> Constant {
        Constant {
            name: name.into(),
            span: pound_config::diag::Span {
                file: "p.cfg".into(),
                start: Default::default(),
                end: Default::default(),
            },
            value: value.as_bytes().to_vec(),
            watch: None,
            trim: false,
        }
    }

    #[test]
    fn inner_definitions_win_and_cells_are_shared() {
        let mut watched = Vec::new();
        let defs = [def("a", "1"), def("b", "2")];
        let top = Constants::scope(&Constants::default(), &defs, &mut watched);
        let service = Constants::scope(&top, &[def("b", "3")], &mut watched);
        assert_eq!(service.get("a").as_deref(), Some(&b"1".to_vec()));
        assert_eq!(service.get("b").as_deref(), Some(&b"3".to_vec()));
        assert_eq!(top.get("b").as_deref(), Some(&b"2".to_vec()));
        assert!(service.get("c").is_none());
        // A new value reaches every scope that sees the definition.
        top.map["a"].store(Arc::new(b"9".to_vec()));
        assert_eq!(service.get("a").as_deref(), Some(&b"9".to_vec()));
        assert!(watched.is_empty());
    }
}
