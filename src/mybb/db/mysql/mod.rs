//! MySQL and MariaDB: the SQL of every question [`crate::mybb::db::Db`] asks, over one
//! connection. Only this folder names the `mysql` crate or writes a statement.

mod connection;
mod devtheme;
mod reads;
mod rows;
mod theme_forms;
mod themes;
mod upgrades;
mod writes;

pub(crate) use connection::MySql;
