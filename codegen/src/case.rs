//! Spelling schema names (UpperCamel types, snake fields) the way each target language wants.

/// `PostOnly` → `POST_ONLY`.
pub fn screaming(name: &str) -> String {
    let mut out = String::new();
    for (i, c) in name.chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 && !out.ends_with('_') {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// `OrderBookSnapshot` → `order_book_snapshot`.
pub fn snake(name: &str) -> String {
    screaming(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    #[test]
    fn spellings() {
        assert_eq!(super::screaming("PostOnly"), "POST_ONLY");
        assert_eq!(super::snake("OrderBookSnapshot"), "order_book_snapshot");
        assert_eq!(super::snake("num_bid_levels"), "num_bid_levels");
    }
}
