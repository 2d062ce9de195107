//! The message tree as the UI walks it: where the active branch forks
//! ([`BranchPoint`], shown as "‹ 2 / 3 ›") and the requests that add a
//! branch ([`EditMessage`]). Storage and the rules of branching live in the
//! backend; this file is only their shape on the wire.

use serde::{Deserialize, Serialize};

use crate::MessageId;

/// A message on the active branch that has siblings (other answers to the
/// same parent, or other versions of the same question).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct BranchPoint {
    pub message_id: MessageId,
    /// Position among its siblings, oldest first, from 0.
    pub index: u32,
    /// How many siblings there are, this one included.
    pub count: u32,
    /// The sibling before this one, if any.
    pub previous: Option<MessageId>,
    /// The sibling after this one, if any.
    pub next: Option<MessageId>,
}

impl BranchPoint {
    /// The position as people count it ("2 / 3").
    pub fn label(&self) -> String {
        format!("{} / {}", self.index + 1, self.count)
    }
}

/// A new version of a user message: saved as a sibling of `message_id`
/// (the original stays), and answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EditMessage {
    pub message_id: MessageId,
    pub text: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use pretty_assertions::assert_eq;

    #[test]
    fn label_counts_from_one() {
        let point = BranchPoint {
            message_id: "01890a5d-ac96-774b-bcce-b302099a8057".parse().unwrap(),
            index: 1,
            count: 3,
            previous: None,
            next: None,
        };
        assert_eq!(point.label(), "2 / 3");
        let json = serde_json::to_string(&point).unwrap();
        assert_eq!(serde_json::from_str::<BranchPoint>(&json).unwrap(), point);
    }
}
