//! `kestrel search QUERY`: the full-text search of the app, from the
//! command line, printing the results as JSON on stdout.
//!
//! It reads the database directly (no backend start-up), so it can run
//! beside a running app: SQLite's WAL lets it read while the app writes,
//! and it changes nothing a running app relies on.

use std::process::ExitCode;

use clap::Args;
use kestrel_server::config::Config;
use kestrel_server::store::{schema, search};
use kestrel_shared::{
    MAX_SEARCH_LIMIT, Ranking, SearchQuery, SearchResults, SearchScope, Timestamp,
};

/// Search every conversation (JSON on stdout).
#[derive(Debug, Args)]
pub struct SearchArgs {
    /// Words to find (all must occur); "quoted words" as a phrase; word* as
    /// a prefix. Everything else is plain text.
    #[arg(required = true, num_args = 1.., value_name = "QUERY")]
    query: Vec<String>,
    /// Search conversation titles instead of message text.
    #[arg(long)]
    titles_only: bool,
    /// Only what was written on or after this day (YYYY-MM-DD, UTC) or
    /// instant (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    since: Option<Timestamp>,
    /// Only what was written up to this day, inclusive (YYYY-MM-DD, UTC),
    /// or before this instant (YYYY-MM-DDTHH:MM:SSZ).
    #[arg(long, value_name = "DATE", value_parser = parse_until)]
    until: Option<Timestamp>,
    /// How many hits to print.
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=i64::from(MAX_SEARCH_LIMIT)))]
    limit: u32,
}

pub fn run(config: &Config, args: SearchArgs) -> ExitCode {
    let query = SearchQuery {
        text: args.query.join(" "),
        scope: if args.titles_only {
            SearchScope::Titles
        } else {
            SearchScope::Messages
        },
        since: args.since,
        until: args.until,
        limit: args.limit,
    };
    let path = config.database_path();
    let results = if path.exists() {
        let outcome = schema::open(&path).and_then(|conn| search::search(&conn, &query));
        match outcome {
            Ok(results) => results,
            Err(error) => {
                eprintln!("kestrel: search failed in {}: {error}", path.display());
                return ExitCode::FAILURE;
            }
        }
    } else {
        SearchResults {
            hits: Vec::new(),
            ranking: Ranking::AllMatches { matches: 0 },
            notice: Some(format!(
                "No conversations are stored in {} yet.",
                config.data_dir.display()
            )),
        }
    };
    match serde_json::to_string_pretty(&results) {
        Ok(json) => {
            println!("{json}");
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("kestrel: cannot print the results: {error}");
            ExitCode::FAILURE
        }
    }
}

const DAY_MS: i64 = 86_400_000;

fn parse_since(text: &str) -> Result<Timestamp, String> {
    parse_date(text).map(|(at, _)| Timestamp(at))
}

fn parse_until(text: &str) -> Result<Timestamp, String> {
    // A day includes all of itself: the bound is the next midnight.
    parse_date(text).map(|(at, day_only)| Timestamp(if day_only { at + DAY_MS } else { at }))
}

/// Milliseconds since the epoch of `YYYY-MM-DD` (midnight UTC) or
/// `YYYY-MM-DDTHH:MM:SSZ`, and whether only a day was given.
fn parse_date(text: &str) -> Result<(i64, bool), String> {
    let bad = || format!("{text:?} is not a date: use YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)");
    let (day, time) = match text.split_once(['T', ' ']) {
        Some((day, time)) => (day, Some(time)),
        None => (text, None),
    };
    let mut parts = day.splitn(3, '-').map(|p| p.parse::<i64>().ok());
    let (Some(Some(y)), Some(Some(m)), Some(Some(d))) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return Err(bad()),
    };
    if !(1..=9999).contains(&y) || !(1..=days_in_month).contains(&d) || day.len() != 10 {
        return Err(bad());
    }
    let mut at = days_from_civil(y, m, d) * DAY_MS;
    if let Some(time) = time {
        let time = time.strip_suffix('Z').ok_or_else(bad)?;
        let mut fields = time.split(':').map(|p| p.parse::<i64>().ok());
        let (Some(Some(h)), Some(Some(min)), s) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(bad());
        };
        let s = match s {
            Some(Some(s)) => s,
            Some(None) => return Err(bad()),
            None => 0,
        };
        if h > 23 || min > 59 || s > 59 || fields.next().is_some() {
            return Err(bad());
        }
        at += ((h * 60 + min) * 60 + s) * 1000;
    }
    Ok((at, time.is_none()))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_since("1970-01-01"), Ok(Timestamp(0)));
        assert_eq!(parse_since("2024-02-29"), Ok(Timestamp(1_709_164_800_000)));
        assert_eq!(parse_until("2024-02-29"), Ok(Timestamp(1_709_251_200_000)));
        assert_eq!(
            parse_until("2024-02-29T01:02:03Z"),
            Ok(Timestamp(1_709_168_523_000))
        );
        for bad in [
            "2023-02-29",
            "2024-13-01",
            "yesterday",
            "2024-1-1",
            "2024-01-01T25:00Z",
            "",
        ] {
            assert!(parse_since(bad).is_err(), "{bad}");
        }
    }
}
