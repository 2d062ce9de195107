//! The UI's components. The root [`App`] lays out the [`Sidebar`], the
//! [`ChatPane`] and, when open, the [`SettingsDialog`].

mod app;
mod branch_nav;
mod chat;
mod composer;
mod error_banner;
mod export_menu;
mod messages;
mod notice;
mod search;
mod settings;
mod sidebar;

pub use app::App;
pub use branch_nav::MessageTools;
pub use chat::ChatPane;
pub use composer::Composer;
pub use error_banner::ErrorBanner;
pub use export_menu::ExportMenu;
pub use messages::{MessageList, MessageView, StreamingMessage};
pub use notice::StartupNotice;
pub use search::SearchBox;
pub use settings::SettingsDialog;
pub use sidebar::Sidebar;

#[cfg(test)]
mod tests;
