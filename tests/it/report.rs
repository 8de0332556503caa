//! The post-run report: snapshot tests of the rendered structure from fixed
//! results.json fixtures, escaping of a hostile scenario, JUnit validity
//! (xmllint against tests/fixtures/results/junit.xsd), the report opened in
//! a real headless Chromium, the run history index and `gameday report`.

mod fixtures;

use std::path::{Path, PathBuf};
use std::process::Command;

use gameday::report;
use gameday::results::Results;

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/results")
}

fn fixture_path(name: &str) -> PathBuf {
    fixture_dir().join(format!("{name}.json"))
}

/// The fixture as stored on disk (what the tests render).
fn load(name: &str) -> Results {
    match report::read_results(&fixture_path(name)) {
        Ok(results) => results,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn fixtures_on_disk_match_their_generator() {
    let update = std::env::var_os("GAMEDAY_UPDATE_FIXTURES").is_some();
    for name in fixtures::NAMES {
        let generated = fixtures::fixture(name);
        let json = serde_json::to_string_pretty(&generated).expect("serialise") + "\n";
        let path = fixture_path(name);
        if update {
            std::fs::create_dir_all(fixture_dir()).expect("fixture dir");
            std::fs::write(&path, &json).expect("write fixture");
        }
        let stored = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            stored == json,
            "{} differs from its generator; rerun with GAMEDAY_UPDATE_FIXTURES=1",
            path.display()
        );
        assert_eq!(load(name), generated, "{name} does not round-trip");
    }
}

/// A readable outline of an HTML or SVG document: one line per element
/// (`tag.class`) indented by depth, with its direct text; CSS, scripts'
/// bodies and geometry attributes left out, so a snapshot shows structure
/// and words, not pixels.
fn outline(html: &str) -> String {
    let mut out = String::new();
    let mut depth: usize = 0;
    for token in tokens(html) {
        match token {
            Token::Open {
                name,
                attributes,
                self_closing,
            } => {
                let class = attributes
                    .iter()
                    .find(|(key, _)| key == "class")
                    .map(|(_, value)| {
                        format!(
                            ".{}",
                            value.split_whitespace().collect::<Vec<_>>().join(".")
                        )
                    })
                    .unwrap_or_default();
                let id = attributes
                    .iter()
                    .find(|(key, _)| key == "id")
                    .map(|(_, value)| format!("#{value}"))
                    .unwrap_or_default();
                let href = attributes
                    .iter()
                    .find(|(key, _)| key == "href")
                    .map(|(_, value)| format!(" href={value}"))
                    .unwrap_or_default();
                out.push_str(&format!("{}{name}{id}{class}{href}\n", "  ".repeat(depth)));
                if !self_closing && !VOID.contains(&name.as_str()) {
                    depth += 1;
                }
            }
            Token::Close(_) => depth = depth.saturating_sub(1),
            Token::Text(text) => {
                let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
                if !text.is_empty() {
                    let shown: String = text.chars().take(160).collect();
                    out.push_str(&format!("{}\"{shown}\"\n", "  ".repeat(depth)));
                }
            }
        }
    }
    out
}

const VOID: [&str; 6] = ["meta", "br", "img", "link", "input", "hr"];

#[derive(Debug)]
enum Token {
    Open {
        name: String,
        attributes: Vec<(String, String)>,
        self_closing: bool,
    },
    Close(#[allow(dead_code)] String),
    Text(String),
}

/// A small HTML tokenizer, enough for the markup our templates produce and
/// for proving what a hostile string did not produce.
fn tokens(html: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        let Some(start) = rest.find('<') else {
            tokens.push(Token::Text(rest.to_string()));
            break;
        };
        if start > 0 {
            tokens.push(Token::Text(rest[..start].to_string()));
        }
        rest = &rest[start..];
        if rest.starts_with("<!") {
            let end = rest.find('>').map_or(rest.len(), |e| e + 1);
            rest = &rest[end..];
            continue;
        }
        let end = rest.find('>').unwrap_or(rest.len() - 1);
        let tag = &rest[1..end];
        rest = &rest[(end + 1).min(rest.len())..];
        if let Some(name) = tag.strip_prefix('/') {
            tokens.push(Token::Close(name.trim().to_lowercase()));
            continue;
        }
        let self_closing = tag.ends_with('/');
        let tag = tag.trim_end_matches('/');
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = tag[..name_end].to_lowercase();
        let attributes = attributes(&tag[name_end..]);
        // Raw-text elements: skip their bodies.
        if name == "style" || name == "script" {
            let close = format!("</{name}>");
            let body_end = rest.find(&close).unwrap_or(rest.len());
            rest = &rest[(body_end + close.len()).min(rest.len())..];
            tokens.push(Token::Open {
                name: name.clone(),
                attributes,
                self_closing: true,
            });
            continue;
        }
        tokens.push(Token::Open {
            name,
            attributes,
            self_closing,
        });
    }
    tokens
}

fn attributes(text: &str) -> Vec<(String, String)> {
    let mut attributes = Vec::new();
    let mut rest = text.trim();
    while !rest.is_empty() {
        let key_end = rest
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(rest.len());
        let key = rest[..key_end].to_lowercase();
        rest = rest[key_end..].trim_start();
        let mut value = String::new();
        if let Some(after) = rest.strip_prefix('=') {
            let after = after.trim_start();
            if let Some(quoted) = after.strip_prefix('"') {
                let end = quoted.find('"').unwrap_or(quoted.len());
                value = quoted[..end].to_string();
                rest = &quoted[(end + 1).min(quoted.len())..];
            } else {
                let end = after.find(char::is_whitespace).unwrap_or(after.len());
                value = after[..end].to_string();
                rest = &after[end..];
            }
        }
        attributes.push((key, value));
        rest = rest.trim_start();
    }
    attributes
}

fn snapshot(name: &str, contents: &str) {
    insta::with_settings!({
        snapshot_path => fixture_dir().join("snapshots"),
        prepend_module_to_snapshot => false,
        omit_expression => true,
    }, {
        insta::assert_snapshot!(name, contents);
    });
}

fn render_html(results: &Results) -> String {
    match report::render_html(results) {
        Ok(html) => html,
        Err(error) => panic!("{error}"),
    }
}

fn render_junit(results: &Results) -> String {
    match report::render_junit(results) {
        Ok(xml) => xml,
        Err(error) => panic!("{error}"),
    }
}

#[test]
fn html_structure_of_every_fixture() {
    for name in fixtures::NAMES.iter().filter(|name| **name != "hostile") {
        let html = render_html(&load(name));
        snapshot(&format!("{name}.html"), &outline(&html));
    }
}

#[test]
fn junit_of_every_fixture() {
    for name in fixtures::NAMES.iter().filter(|name| **name != "hostile") {
        snapshot(&format!("{name}.junit.xml"), &render_junit(&load(name)));
    }
}

/// Elements and attributes the templates use; anything else in a rendered
/// report came from input that escaped escaping.
const ELEMENTS: [&str; 39] = [
    "html",
    "head",
    "meta",
    "title",
    "style",
    "body",
    "header",
    "span",
    "h1",
    "h2",
    "h3",
    "p",
    "dl",
    "div",
    "dt",
    "dd",
    "section",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "svg",
    "rect",
    "line",
    "text",
    "figure",
    "figcaption",
    "polyline",
    "polygon",
    "ul",
    "li",
    "pre",
    "footer",
    "code",
    "script",
    "br",
];
const ATTRIBUTES: [&str; 21] = [
    "lang",
    "charset",
    "name",
    "content",
    "http-equiv",
    "class",
    "id",
    "href",
    "viewbox",
    "role",
    "aria-label",
    "x",
    "y",
    "width",
    "height",
    "x1",
    "x2",
    "y1",
    "y2",
    "points",
    "text-anchor",
];

#[test]
fn hostile_strings_render_as_text_and_nothing_else() {
    let hostile = load("hostile");
    let html = render_html(&hostile);
    let mut scripts = 0;
    for token in tokens(&html) {
        if let Token::Open {
            name, attributes, ..
        } = token
        {
            assert!(
                ELEMENTS.contains(&name.as_str()) || name == "b",
                "unexpected element <{name}>"
            );
            scripts += usize::from(name == "script");
            for (key, value) in attributes {
                assert!(
                    ATTRIBUTES.contains(&key.as_str()),
                    "unexpected attribute {key} on <{name}>"
                );
                if key == "href" {
                    assert!(!value.contains(':'), "a link with a scheme: {value}");
                }
            }
        }
    }
    assert_eq!(scripts, 1, "only the report's own script");
    let svgs = |html: &str| (html.matches("<svg").count(), html.matches("</svg>").count());
    assert_eq!(
        svgs(&html),
        svgs(&render_html(&load("passed"))),
        "an injected </svg> closed a chart"
    );
    assert!(
        html.contains("&lt;script&gt;document.documentElement"),
        "the payload is shown as text"
    );
    assert!(html.contains("&lt;&#x2f;svg&gt;") || html.contains("&lt;/svg&gt;"));
    assert!(html.contains("障害 🔥"), "non-ASCII survives");
    assert!(
        !html.contains('\u{0}') && !html.contains('\u{1b}'),
        "control characters are replaced"
    );
    let banner = &html[..html.find("</header>").expect("a banner")];
    assert!(
        !banner.contains(&"x".repeat(2_100)),
        "very long strings are cut"
    );
    assert!(html.len() < 2_000_000);
    let xml = render_junit(&hostile);
    assert!(xml.contains("&lt;script&gt;") && !xml.contains("<script"));
    assert!(!xml.contains('\u{0}'));
}

/// Finds a tool on PATH. Absent: skip loudly, unless GAMEDAY_CI is set, where it must be there.
fn required_tool(names: &[&str], package: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    for directory in std::env::split_paths(&path) {
        for name in names {
            let candidate = directory.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    assert!(
        std::env::var_os("GAMEDAY_CI").is_none(),
        "GAMEDAY_CI is set but {package} is not installed (.ci/run installs it)"
    );
    eprintln!(
        "\n*** SKIPPED: {package} is not installed; install it (apt-get install -y {package}) or run .ci/run. ***\n"
    );
    None
}

/// Runs headless Chromium with the network shut off; returns stdout and stderr.
async fn chromium(
    binary: &Path,
    profile: &Path,
    extra: &[String],
    page: &Path,
) -> (Vec<u8>, String) {
    let mut command = tokio::process::Command::new(binary);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--host-resolver-rules=MAP * ~NOTFOUND",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(format!("file://{}", page.display()))
        .kill_on_drop(true);
    let output = tokio::time::timeout(std::time::Duration::from_secs(120), command.output())
        .await
        .expect("chromium finished within two minutes")
        .expect("chromium ran");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "chromium failed: {stderr}");
    (output.stdout, stderr)
}

/// Width and height from a PNG's IHDR chunk.
fn png_size(png: &[u8]) -> (u32, u32) {
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n") && &png[12..16] == b"IHDR",
        "not a PNG"
    );
    let word = |at: usize| u32::from_be_bytes([png[at], png[at + 1], png[at + 2], png[at + 3]]);
    (word(16), word(20))
}

#[tokio::test]
async fn report_opens_in_headless_chromium_without_errors_or_network() {
    let Some(binary) = required_tool(&["chromium", "chromium-browser"], "chromium") else {
        return;
    };
    let dir = tempfile::tempdir().expect("temp dir");
    for name in ["failed", "hostile", "zero-requests"] {
        let page = dir.path().join(format!("{name}.html"));
        std::fs::write(&page, render_html(&load(name))).expect("write report");
        let profile = tempfile::tempdir().expect("profile dir");
        let (dom, stderr) =
            chromium(&binary, profile.path(), &["--dump-dom".to_string()], &page).await;
        let dom = String::from_utf8_lossy(&dom);
        assert!(
            dom.contains("data-report-ready=\"yes\""),
            "{name}: the report's script did not run (is its CSP hash current?)"
        );
        assert!(
            !dom.contains("data-pwned=\"1\""),
            "{name}: an injected script ran"
        );
        // Every console message (a CSP violation for a blocked fetch or
        // script, a JavaScript error) is logged as INFO:CONSOLE.
        let console: Vec<&str> = stderr
            .lines()
            .filter(|line| line.contains(":CONSOLE"))
            .collect();
        assert!(console.is_empty(), "{name}: console messages: {console:#?}");
    }

    // Screenshots: the report against an empty page of the same size.
    let blank = dir.path().join("blank.html");
    std::fs::write(&blank, "<!DOCTYPE html><html><body></body></html>").expect("write blank page");
    let mut sizes = Vec::new();
    let report = dir.path().join("failed.html");
    let mut shots = Vec::new();
    for (page, window, dark) in [
        (&report, "1280,2000", false),
        (&blank, "1280,2000", false),
        (&report, "420,2000", false),
        (&report, "1280,2000", true),
    ] {
        let shot = dir.path().join(format!("shot-{}.png", sizes.len()));
        let profile = tempfile::tempdir().expect("profile dir");
        let mut extra = vec![
            format!("--screenshot={}", shot.display()),
            format!("--window-size={window}"),
        ];
        if dark {
            extra.push("--force-dark-mode".to_string());
            extra.push("--blink-settings=preferredColorScheme=0".to_string());
        }
        chromium(&binary, profile.path(), &extra, page).await;
        let png = std::fs::read(&shot).expect("screenshot written");
        sizes.push((png_size(&png), png.len()));
        shots.push(png);
    }
    let [
        (report_size, report_bytes),
        (blank_size, blank_bytes),
        (narrow_size, narrow_bytes),
        (dark_size, dark_bytes),
    ] = sizes[..]
    else {
        unreachable!()
    };
    // Printing lays the report out over several pages rather than one clipped page.
    let pdf = dir.path().join("report.pdf");
    let profile = tempfile::tempdir().expect("profile dir");
    let extra = [
        "--no-pdf-header-footer".to_string(),
        format!("--print-to-pdf={}", pdf.display()),
    ];
    chromium(&binary, profile.path(), &extra, &report).await;
    let pdf = std::fs::read(&pdf).expect("pdf written");
    let pages = String::from_utf8_lossy(&pdf)
        .matches("/Type /Page")
        .count()
        .saturating_sub(1);
    assert!(
        pdf.starts_with(b"%PDF") && pages >= 2,
        "{pages} printed pages"
    );
    assert_eq!(dark_size, (1280, 2000));
    assert!(
        dark_bytes > 10 * blank_bytes,
        "dark report {dark_bytes} B vs blank {blank_bytes} B"
    );
    assert_ne!(
        shots[0], shots[3],
        "dark mode renders differently from light mode"
    );
    assert_eq!(report_size, (1280, 2000));
    assert_eq!(blank_size, (1280, 2000));
    assert_eq!(narrow_size.0, 420);
    // A blank page compresses to almost nothing; charts, tables and text do not.
    assert!(
        report_bytes > 10 * blank_bytes,
        "report {report_bytes} B vs blank {blank_bytes} B"
    );
    assert!(
        narrow_bytes > 5 * blank_bytes,
        "narrow report {narrow_bytes} B vs blank {blank_bytes} B"
    );
}

#[test]
fn junit_files_validate_against_the_schema() {
    let schema = fixture_dir().join("junit.xsd");
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Vec::new();
    for name in fixtures::NAMES {
        let xml = render_junit(&load(name));
        check_junit_counts(name, &xml);
        let path = dir.path().join(format!("{name}.xml"));
        std::fs::write(&path, xml).expect("write junit");
        files.push(path);
    }
    let Some(xmllint) = required_tool(&["xmllint"], "libxml2-utils") else {
        return;
    };
    for file in &files {
        let output = Command::new(&xmllint)
            .arg("--noout")
            .arg("--schema")
            .arg(&schema)
            .arg(file)
            .output()
            .expect("xmllint runs");
        assert!(
            output.status.success(),
            "{} does not validate: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    // The validator is real: a test case without a classname is refused.
    let broken = dir.path().join("broken.xml");
    let xml = std::fs::read_to_string(&files[1]).expect("read junit");
    std::fs::write(&broken, xml.replacen(" classname=", " class=", 1)).expect("write broken junit");
    let output = Command::new(&xmllint)
        .arg("--noout")
        .arg("--schema")
        .arg(&schema)
        .arg(&broken)
        .output()
        .expect("xmllint runs");
    assert!(
        !output.status.success(),
        "the schema accepted a testcase without a classname"
    );
}

/// The counts on `<testsuite>` agree with its test cases (XSD cannot say so).
fn check_junit_counts(name: &str, xml: &str) {
    let tokens = tokens(xml);
    let count = |element: &str| {
        tokens
            .iter()
            .filter(|token| matches!(token, Token::Open { name, .. } if name == element))
            .count()
    };
    let suite = tokens
        .iter()
        .find_map(|token| match token {
            Token::Open {
                name, attributes, ..
            } if name == "testsuite" => Some(attributes.clone()),
            _ => None,
        })
        .expect("a testsuite");
    let attribute = |key: &str| {
        suite
            .iter()
            .find(|(k, _)| k == key)
            .and_then(|(_, v)| v.parse::<usize>().ok())
            .expect("a count attribute")
    };
    assert_eq!(attribute("tests"), count("testcase"), "{name}: tests");
    assert_eq!(attribute("failures"), count("failure"), "{name}: failures");
    assert_eq!(attribute("errors"), count("error"), "{name}: errors");
    assert_eq!(attribute("skipped"), count("skipped"), "{name}: skipped");
}

#[test]
fn failures_come_first_and_say_expected_versus_observed() {
    let failed = load("failed");
    let html = render_html(&failed);
    let checks = &html[html.find("id=\"checks\"").expect("checks section")..];
    let first_pass = checks.find("<tr class=\"pass\"").expect("a passing row");
    let last_fail = checks.rfind("<tr class=\"fail\"").expect("a failing row");
    assert!(last_fail < first_pass, "failures are listed before passes");
    // Issue 17, item 11: the banner names the failed checks, and the checks
    // come before the budget explanation and the timeline.
    assert!(
        html.contains(
            "3 of 8 checks failed: error_rate in primary-529, capability streaming in \
             primary-529, p99 in primary-529;"
        ),
        "the banner names the failed checks"
    );
    let at = |id: &str| {
        html.find(&format!("id=\"{id}\""))
            .unwrap_or_else(|| panic!("no section {id}"))
    };
    assert!(at("verdict") < at("checks"));
    assert!(at("checks") < at("budget"));
    assert!(at("checks") < at("timeline"));
    let xml = render_junit(&failed);
    assert!(xml.contains("message=\"expected stays true, observed false after 3.0s"));
    let revert = render_junit(&load("revert-error"));
    assert!(revert.contains("type=\"RevertError\""));
    let revert_html = render_html(&load("revert-error"));
    assert!(revert_html.contains("Faults that may still be in place: slow-db"));
}

#[test]
fn an_hour_at_1000_requests_per_second_stays_small() {
    let results = fixtures::hour_at_1000_rps();
    let html = render_html(&results);
    assert!(html.len() < 2_000_000, "{} bytes", html.len());
    let polyline_points = html
        .split("points=\"")
        .skip(1)
        .map(|rest| rest.split('"').next().unwrap_or("").split(' ').count())
        .max()
        .unwrap_or(0);
    assert!(
        polyline_points <= 2 * 600 + 2,
        "a series has {polyline_points} points"
    );
}

/// `results` as the run `run_id` of its scenario, started at `started_at`.
fn as_run(mut results: Results, run_id: &str, started_at: &str) -> Results {
    results.record.run_id = run_id.to_string();
    results.record.started_at = started_at.to_string();
    results.record.ended_at = None;
    results
}

#[test]
fn index_lists_runs_and_reports_show_the_change_from_the_previous_run() {
    let reports = tempfile::tempdir().expect("temp dir");
    let older = as_run(
        load("passed"),
        "redis-killed-20261128T051726Z",
        "2026-11-28T05:17:26.000Z",
    );
    let mut newer = as_run(
        load("passed"),
        "redis-killed-20261129T051726Z",
        "2026-11-29T05:17:26.000Z",
    );
    if let Some(verdict) = &mut newer.verdict {
        verdict.outcome = gameday::results::Outcome::Failed;
        verdict.budget.spent_of_allowed += 0.5;
    }
    let other = as_run(
        load("failed"),
        "llm-primary-outage-20261129T061726Z",
        "2026-11-29T06:17:26.000Z",
    );
    for run in [&older, &newer, &other] {
        let run_dir = reports.path().join(&run.record.run_id);
        std::fs::create_dir_all(&run_dir).expect("run dir");
        std::fs::write(
            run_dir.join("results.json"),
            serde_json::to_vec(run).expect("json"),
        )
        .expect("write");
        report::write_run_reports(run, &run_dir).expect("reports written");
        assert!(run_dir.join("junit.xml").is_file());
    }
    let broken = reports.path().join("broken-run");
    std::fs::create_dir_all(&broken).expect("broken dir");
    std::fs::write(
        broken.join("results.json"),
        "{\"schema_version\": 1, \"run_id\": ",
    )
    .expect("write");

    let read = |run_id: &str| {
        std::fs::read_to_string(reports.path().join(run_id).join("report.html")).expect("report")
    };
    let newer_html = read("redis-killed-20261129T051726Z");
    assert!(newer_html.contains("Change from the previous run"));
    assert!(newer_html.contains("href=\"../redis-killed-20261128T051726Z/report.html\""));
    assert!(newer_html.contains("+50 points"));
    assert!(!read("redis-killed-20261128T051726Z").contains("Change from the previous run"));
    assert!(!read("llm-primary-outage-20261129T061726Z").contains("Change from the previous run"));

    let index = report::write_index(reports.path()).expect("index written");
    let html = std::fs::read_to_string(&index).expect("index");
    let position = |needle: &str| {
        html.find(needle)
            .unwrap_or_else(|| panic!("{needle} missing"))
    };
    assert!(
        position("llm-primary-outage-20261129T061726Z") < position("redis-killed-20261129T051726Z")
    );
    assert!(position("redis-killed-20261129T051726Z") < position("redis-killed-20261128T051726Z"));
    assert!(html.contains("href=\"./redis-killed-20261129T051726Z/report.html\""));
    assert!(html.contains("passed → failed; budget +50 points"));
    assert!(html.contains("first run"));
    assert!(html.contains("unreadable") && html.contains("broken-run"));
    assert!(html.contains("3 runs") || html.contains("4 runs"));
}

#[test]
fn gameday_report_renders_past_runs_and_refuses_bad_files() {
    let binary = env!("CARGO_BIN_EXE_gameday");
    let reports = tempfile::tempdir().expect("temp dir");
    let run_dir = reports.path().join("llm-primary-outage-20261129T051726Z");
    std::fs::create_dir_all(&run_dir).expect("run dir");
    std::fs::copy(fixture_path("failed"), run_dir.join("results.json")).expect("copy fixture");

    let run = |args: &[&std::ffi::OsStr]| {
        Command::new(binary)
            .arg("report")
            .args(args)
            .output()
            .expect("gameday runs")
    };
    let output = run(&[run_dir.join("results.json").as_os_str()]);
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let html =
        std::fs::read_to_string(run_dir.join("report.html")).expect("report beside results.json");
    assert!(html.contains("llm-primary-outage"));

    let elsewhere = reports.path().join("elsewhere.html");
    let junit = reports.path().join("junit.xml");
    let output = run(&[
        run_dir.join("results.json").as_os_str(),
        "-o".as_ref(),
        elsewhere.as_os_str(),
        "--junit".as_ref(),
        junit.as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(0));
    assert!(elsewhere.is_file() && junit.is_file());

    let output = run(&["--index".as_ref(), reports.path().as_os_str()]);
    assert_eq!(output.status.code(), Some(0));
    let index = std::fs::read_to_string(reports.path().join("index.html")).expect("index");
    assert!(index.contains("./llm-primary-outage-20261129T051726Z/report.html"));

    let garbage = reports.path().join("garbage.json");
    std::fs::write(&garbage, "not json").expect("write");
    let output = run(&[garbage.as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("is not a gameday results file"));

    let newer = reports.path().join("newer.json");
    std::fs::write(&newer, "{\"schema_version\": 99}").expect("write");
    let output = run(&[newer.as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("upgrade gameday"));

    let mut overflowing = load("failed");
    overflowing.record.traffic.seconds[3].outcomes.ok = u64::MAX;
    overflowing.record.traffic.seconds[3].outcomes.http_error = 2;
    let overflowing_path = reports.path().join("overflowing.json");
    std::fs::write(
        &overflowing_path,
        serde_json::to_vec(&overflowing).expect("json"),
    )
    .expect("write");
    let output = run(&[overflowing_path.as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("add up to more than 2^64"));

    let output = run(&[reports.path().join("missing.json").as_os_str()]);
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot read"));

    let output = run(&[]);
    assert_eq!(
        output.status.code(),
        Some(2),
        "a results file or --index is required"
    );
}
