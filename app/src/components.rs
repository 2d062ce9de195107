//! The UI's components. The root [`App`] lays out the [`Sidebar`], the
//! [`ChatPane`] and, when open, the [`SettingsDialog`].

mod app;
mod branch_nav;
mod chat;
mod composer;
mod data_section;
mod error_banner;
mod export_menu;
mod messages;
mod model_picker;
mod notice;
mod search;
mod settings;
mod sidebar;
mod thinking;
mod usage;

pub use app::App;
pub use branch_nav::MessageTools;
pub use chat::ChatPane;
pub use composer::Composer;
pub use data_section::DataSection;
pub use error_banner::ErrorBanner;
pub use export_menu::ExportMenu;
pub use messages::{MessageList, MessageView, StreamingMessage};
pub use model_picker::ModelPicker;
pub use notice::StartupNotice;
pub use search::SearchBox;
pub use settings::SettingsDialog;
pub use sidebar::Sidebar;
pub use thinking::LiveThinking;
pub use usage::{ConversationUsage, MessageUsage};

#[cfg(test)]
mod tests;
