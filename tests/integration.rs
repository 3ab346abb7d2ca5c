//! The single integration test target: every test runs the real binary (or the library)
//! against a real MariaDB loaded with the real MyBB 1.8.37 fixture.

mod util;

mod advice;
mod cache;
mod chaos;
mod check;
mod completion;
mod config;
mod copies;
mod devtheme;
mod engine_oracle;
mod engines;
mod existence;
mod export;
mod first_hour;
mod fixture;
mod identity;
mod import;
mod interrupted;
mod layers;
mod live;
mod locked;
mod oversize;
mod paths;
mod pg_board;
mod postgres;
mod races;
mod readme;
mod scale;
mod sqlite_board;
mod sync;
mod theme;
mod theme_files;
mod trust;
mod upgrade;
mod watch;
