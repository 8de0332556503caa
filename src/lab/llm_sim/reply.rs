//! The deterministic reply text and the token arithmetic.
//!
//! A "token" here is a whitespace-separated word: prompts are counted with
//! [`count_tokens`] and replies are built word by word, so usage numbers are
//! exact and easy to check by hand. The reply depends only on the simulator's
//! name, the last user message and the token budget, never on time or chance.

/// Words appended after the echo when the reply needs more tokens.
const FILLER: [&str; 12] = [
    "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india", "juliet",
    "kilo", "lima",
];

/// Counts tokens the way the simulator does: whitespace-separated words.
pub fn count_tokens(text: &str) -> usize {
    text.split_whitespace().count()
}

/// The reply the simulator gives, as a list of words (one token each).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The words of the reply; joined with single spaces they form the text.
    pub words: Vec<String>,
    /// True when `max_tokens` cut the reply short (finish reason "length" /
    /// stop reason "max_tokens").
    pub truncated: bool,
}

impl Reply {
    /// Builds the reply of simulator `name` to `last_user_message`:
    /// `"<name> says: <echo of the message> <filler words>"`, exactly
    /// `reply_tokens` words long, or `max_tokens` words when that is smaller.
    pub fn build(
        name: &str,
        last_user_message: &str,
        reply_tokens: usize,
        max_tokens: Option<u64>,
    ) -> Reply {
        let limit = max_tokens
            .map(|max| usize::try_from(max).unwrap_or(usize::MAX))
            .map_or(reply_tokens, |max| max.min(reply_tokens));
        let name_word = if name.split_whitespace().count() == 1 {
            name.to_owned()
        } else {
            name.split_whitespace().collect::<Vec<_>>().join("-")
        };
        let lead = [name_word, "says:".to_owned()];
        let echo = last_user_message.split_whitespace().map(str::to_owned);
        let filler = FILLER.iter().cycle().map(|word| (*word).to_owned());
        let words: Vec<String> = lead
            .into_iter()
            .filter(|word| !word.is_empty())
            .chain(echo)
            .chain(filler)
            .take(limit)
            .collect();
        Reply {
            words,
            truncated: limit < reply_tokens,
        }
    }

    /// The full reply text.
    pub fn text(&self) -> String {
        self.words.join(" ")
    }

    /// The number of tokens in the reply.
    pub fn tokens(&self) -> usize {
        self.words.len()
    }

    /// The streamed piece for token `index`: the word, with a leading space
    /// for every word after the first, so the pieces concatenate to [`Reply::text`].
    pub fn piece(&self, index: usize) -> String {
        match (index, self.words.get(index)) {
            (0, Some(word)) => word.clone(),
            (_, Some(word)) => format!(" {word}"),
            (_, None) => String::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_echoes_then_fills_to_the_exact_length() {
        let reply = Reply::build("primary", "what is  the\tweather", 8, None);
        assert_eq!(
            reply.text(),
            "primary says: what is the weather alpha bravo"
        );
        assert_eq!(reply.tokens(), 8);
        assert!(!reply.truncated);
        assert_eq!(count_tokens(&reply.text()), 8);
    }

    #[test]
    fn long_messages_are_cut_to_the_budget() {
        let message = "one two three four five six seven eight nine ten";
        let reply = Reply::build("sim", message, 5, None);
        assert_eq!(reply.text(), "sim says: one two three");
    }

    #[test]
    fn max_tokens_truncates_and_says_so() {
        let reply = Reply::build("sim", "hello", 20, Some(3));
        assert_eq!(reply.tokens(), 3);
        assert!(reply.truncated);
        let roomy = Reply::build("sim", "hello", 20, Some(100));
        assert_eq!(roomy.tokens(), 20);
        assert!(!roomy.truncated);
    }

    #[test]
    fn pieces_concatenate_to_the_text() {
        let reply = Reply::build("my sim", "a b c", 7, None);
        let joined: String = (0..reply.tokens()).map(|i| reply.piece(i)).collect();
        assert_eq!(joined, reply.text());
        assert!(reply.text().starts_with("my-sim says:"));
        assert_eq!(reply.piece(99), "");
    }

    #[test]
    fn same_input_same_reply() {
        assert_eq!(
            Reply::build("p", "hi there", 20, None),
            Reply::build("p", "hi there", 20, None)
        );
        assert_eq!(Reply::build("p", "", 0, None).tokens(), 0);
    }
}
