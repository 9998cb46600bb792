"""`effbench report` in a real browser: Debian's Chromium, headless, driven by Playwright.

Screenshots of the pages are kept in tests/artifacts/ (or $EFFBENCH_ARTIFACTS).
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from effbench.demo import ARITH_TASK, TINY_REASONER
from effbench.tasks.data import load_dataset
from effbench.tasks.spec import load_task
from tests.conftest import run_cli, write_script

REPO = Path(__file__).parent.parent
ARTIFACTS = Path(os.environ.get("EFFBENCH_ARTIFACTS", REPO / "tests" / "artifacts"))
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
INJECTED = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2">'


def chromium_path() -> str:
    """Debian's Chromium; without it the browser tests are skipped, unless EFFBENCH_REQUIRE_BROWSER=1 (CI) fails them."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Chromium is not installed: apt-get install chromium (make setup does, as root) to run the browser tests"
        if os.environ.get("EFFBENCH_REQUIRE_BROWSER") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def site(tmp_path_factory, data_dir):
    """Two scripted runs (one answer carries a script), a published entry, and the report built from them."""
    tmp = tmp_path_factory.mktemp("site")
    samples = load_dataset(load_task("gsm8k"), root=data_dir, limit=12).samples
    for name, words in (("long", 40), ("short", 12)):
        script = {
            f"gsm8k/{s.id}": "<think>" + " step" * (words + i) + f" </think> So \\boxed{{{s.gold if i % 3 else '-1'}}}."
            for i, s in enumerate(samples)
        }
        script[f"gsm8k/{samples[1].id}"] = f"<think> hmm </think> {INJECTED} The answer is \\boxed{{{samples[1].gold}}}"
        path = write_script(tmp / f"{name}.json", script)
        result = run_cli(
            "eval",
            "model=m",
            "tasks=gsm8k",
            "backend=scripted",
            f"script={path}",
            f"out={tmp / 'runs'}",
            "limit=12",
            f"name={name}",
            "max_tokens=45",
        )
        assert result.returncode == 0, result.stderr
    script["after_cue"] = {"*": "7} "}
    path = write_script(tmp / "sweep.json", script)
    result = run_cli(
        "sweep",
        "model=m",
        "tasks=gsm8k",
        "backend=scripted",
        f"script={path}",
        f"out={tmp / 'runs'}",
        "limit=12",
        "name=swept",
        "budgets=10,20,60",
        "mode=force",
    )
    assert result.returncode == 0, result.stderr
    board = tmp / "board.yaml"
    board.write_text(f"""title: "Browser test <b>board</b>"
tasks: [gsm8k]
entries:
  - {{name: long, model: scripted, method: long chains, run: {tmp / "runs" / "long"}}}
  - {{name: short, model: scripted, method: short chains, baseline: long, run: {tmp / "runs" / "short"}}}
  - {{name: paper, model: some paper, method: reported, reported: {{gsm8k: {{accuracy: 95.0, mean_tokens: 500}}}}}}
  - {{name: swept, model: scripted, method: forced sweep, sweep: {tmp / "runs" / "swept"}}}
""")
    result = run_cli("report", str(board), f"out={tmp / 'site'}")
    assert result.returncode == 0, result.stderr
    return tmp / "site"


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    page = browser.new_page(viewport={"width": 1366, "height": 900})  # a common laptop screen
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    yield page
    page.close()


def shoot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def assert_fits_the_screen(page) -> None:
    """No horizontal scroll bar: neither the page nor any table's scrolling box is wider than the window."""
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), "the page scrolls sideways"
    wide = page.evaluate("Array.from(document.querySelectorAll('.scroll')).filter(d => d.scrollWidth > d.clientWidth + 1)"
                         ".map(d => d.firstElementChild && d.firstElementChild.id)")  # fmt: skip
    assert wide == [], f"tables wider than the page: {wide}"


def overlapping_labels(page, target: Path) -> list[tuple[str, str]]:
    """The pairs of texts of one figure whose boxes, as the browser lays them out, intersect: in an SVG file, or in
    each inline SVG of a page."""
    page.goto(target.as_uri())
    return page.evaluate("""() => {
        const pairs = [];
        for (const svg of document.querySelectorAll('svg')) {
            if (svg.parentElement && svg.parentElement.closest('svg')) continue;
            const boxes = Array.from(svg.querySelectorAll('text')).filter(t => t.textContent.trim())
                .map(t => [t.textContent.trim(), t.getBoundingClientRect()]);
            for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
                const [a, p] = boxes[i], [b, q] = boxes[j];
                const e = 0.5;
                const apart = p.right - e <= q.left || q.right - e <= p.left || p.bottom - e <= q.top || q.bottom - e <= p.top;
                if (!apart) pairs.push([a, b]);
            }
        }
        return pairs;
    }""")


def test_index_loads_with_plots_and_no_console_errors(site, page):
    page.goto((site / "index.html").as_uri())
    page.wait_for_load_state("load")
    shoot(page, "index")
    assert page.errors == []
    assert page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert page.evaluate("document.images.length") >= 1
    assert page.title() == "Browser test <b>board</b>"  # the title is text, not markup
    frontier = page.locator("#table-gsm8k tr.frontier").evaluate_all("rows => rows.map(r => r.dataset.entry)")
    assert "paper" in frontier and page.locator("#table-gsm8k .badge.reported").count() == 1


def test_the_board_draws_each_view_and_keeps_every_label_apart(site, page):
    page.goto((site / "index.html").as_uri())
    shown = page.locator("img").evaluate_all("images => images.map(i => i.getAttribute('src'))")
    assert {"plots/pareto-gsm8k.svg", "plots/tokens-gsm8k.svg", "plots/budgets-gsm8k.svg"} <= set(shown)
    assert_fits_the_screen(page)
    for svg in sorted((site / "plots").glob("*.svg")):
        assert overlapping_labels(page, svg) == [], svg.name


def test_sorting_a_column_reorders_the_rows(site, page):
    page.goto((site / "index.html").as_uri())
    table = page.locator("#table-gsm8k")
    order = lambda: table.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.entry)")  # noqa: E731

    def tokens() -> list[float]:
        return [float(v) for v in table.locator("tbody tr td.col-tokens").evaluate_all("c => c.map(x => x.dataset.value)")]

    table.locator("th", has_text="mean tokens").click()
    assert tokens() == sorted(tokens()) and order()[0] == "short"
    table.locator("th", has_text="mean tokens").click()
    assert tokens() == sorted(tokens(), reverse=True) and order()[0] == "paper"
    assert page.errors == []


def test_sample_filter_and_injected_script_never_runs(site, page):
    page.goto((site / "run-long.html").as_uri())
    page.wait_for_load_state("load")
    assert page.evaluate("window.__pwned") is None
    assert INJECTED in page.locator("#list-gsm8k").inner_text()  # shown as text
    samples = page.locator("#list-gsm8k .sample")
    total = samples.count()
    for status in ("correct", "wrong", "truncated"):
        page.locator(".filters button", has_text=status).first.click()
        visible = page.locator("#list-gsm8k .sample:not([hidden])")
        statuses = visible.evaluate_all("s => s.map(x => x.dataset.status)")
        assert statuses and all(status in s.split() for s in statuses), (status, statuses)
        assert visible.count() < total
    shoot(page, "run-long-truncated")
    metas = page.locator("#list-gsm8k .sample .meta").all_inner_texts()
    located = [m for m in metas if "first correct answer at" in m]
    assert located and all("· correct" in m for m in located)  # the wrong ones never stated the gold on their way
    tokens, where = re.search(r"(\d+) tokens · first correct answer at (\d+) tokens", located[0]).groups()
    assert 0 < int(where) <= int(tokens)
    page.locator(".filters button", has_text="all").first.click()
    assert page.locator("#list-gsm8k .sample:not([hidden])").count() == total
    assert page.evaluate("window.__pwned") is None and page.errors == []


def test_sweep_row_links_each_budget_and_its_forced_samples_filter(site, page):
    page.goto((site / "index.html").as_uri())
    row = page.locator("#table-gsm8k tr[data-entry='swept']")
    assert row.locator("td.col-auc").inner_text().endswith("(10–60)")  # the budget AUC column, with its range
    assert re.search(r"s1: control \d+%, scaling [-+]\d+\.\d points per doubling, performance \d", row.inner_text())
    table = page.locator("#table-gsm8k")
    table.locator("th", has_text="budget AUC").click()
    assert table.locator("tbody tr").first.get_attribute("data-entry") == "swept"  # entries without an AUC sort last
    row.locator("a", has_text="20").click()
    page.wait_for_load_state("load")
    assert page.url.endswith("run-swept-b20.html") and page.errors == []
    page.locator(".filters button", has_text="forced").first.click()
    visible = page.locator("#list-gsm8k .sample:not([hidden])")
    assert visible.count() > 0 and all("forced" in s.split() for s in visible.evaluate_all("s => s.map(x => x.dataset.status)"))
    assert "forced at 20 tokens" in visible.first.inner_text()
    shoot(page, "run-swept-forced")


def test_an_entry_against_its_baseline_problem_by_problem(site, page):
    page.goto((site / "index.html").as_uri())
    page.locator("#table-gsm8k tr[data-entry='short'] .about a", has_text="long").click()
    assert page.url.endswith("compare-short.html")
    shoot(page, "compare-short")
    assert page.errors == [] and page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert_fits_the_screen(page)
    counts = dict(zip(page.locator("#outcomes-gsm8k th").all_inner_texts(),
                      map(int, page.locator("#outcomes-gsm8k td").all_inner_texts()), strict=True))  # fmt: skip
    # the long run is cut at 45 tokens: its chains end unfinished where the short run's answer
    assert counts == {"both right": 1, "both wrong": 4, "right → wrong": 0, "wrong → right": 7}
    cells = page.locator("#paired-gsm8k td").all_inner_texts()
    assert cells[0] == "12" and cells[-1] == "91.7"  # 11 of 12 answered in fewer tokens (one has the same text in both)
    flipped = page.locator("#flips-gsm8k tbody tr td:nth-child(2)").all_inner_texts()
    assert flipped == ["wrong → right"] * 7
    assert overlapping_labels(page, site / "compare-short.html") == []  # its inline scatter
    assert overlapping_labels(page, site / "run-short.html") == []  # its token histogram
    page.goto((site / "compare-short.html").as_uri())
    page.locator("a", has_text="long").first.click()
    assert page.url.endswith("run-long.html") and page.errors == []


def test_a_checkpoint_series_shows_where_tokens_fell_while_accuracy_held(tmp_path, page, data_dir):
    """Four checkpoints of a length-penalty run: shorter and as accurate twice, then shorter and worse."""
    samples = load_dataset(load_task("gsm8k"), root=data_dir, limit=40).samples
    runs = []
    for step, words, wrong_every in ((0, 200, 5), (100, 120, 5), (200, 60, 5), (300, 30, 2)):
        script = {f"gsm8k/{s.id}": "<think>" + " step" * (words + i % 7) + " </think> So \\boxed{"
                  + (s.gold if i % wrong_every else "-1") + "}." for i, s in enumerate(samples)}  # fmt: skip
        path = write_script(tmp_path / f"ckpt-{step}.json", script)
        result = run_cli("eval", "model=m", "tasks=gsm8k", "backend=scripted", f"script={path}", f"out={tmp_path / 'runs'}",
                         "limit=40", f"name=ckpt-{step}")  # fmt: skip
        assert result.returncode == 0, result.stderr
        runs.append(tmp_path / "runs" / f"ckpt-{step}")
    points = "\n".join(f"      - {{run: {run}}}" for run in runs)
    board = tmp_path / "board.yaml"
    board.write_text(f"title: length penalty\ntasks: [gsm8k]\nentries:\n  - name: rl\n    model: m\n    series:\n{points}\n")
    result = run_cli("report", str(board), f"out={tmp_path / 'site'}")
    assert result.returncode == 0, result.stderr
    page.goto((tmp_path / "site" / "index.html").as_uri())
    shoot(page, "checkpoint-series")
    assert page.errors == [] and page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert_fits_the_screen(page)
    table = page.locator("#series-table-rl-gsm8k")
    assert table.locator("tbody tr").evaluate_all("rows => rows.map(r => Number(r.dataset.step))") == [0, 100, 200, 300]
    assert table.locator("tr.frontier").evaluate_all("rows => rows.map(r => Number(r.dataset.step))") == [100, 200]
    assert "may have lost more than 2 points" in table.locator("tr[data-step='300']").inner_text()
    table.locator("a", has_text="ckpt-200").click()
    assert page.url.endswith("run-ckpt-200.html") and page.errors == []
    assert overlapping_labels(page, tmp_path / "site" / "plots" / "series-rl-gsm8k.svg") == []


def test_published_leaderboard_renders_offline(tmp_path, page):
    result = run_cli("report", str(REPO / "effbench" / "leaderboards" / "o1_pruner.yaml"), f"out={tmp_path / 'o1'}")
    assert result.returncode == 0, result.stderr
    page.goto((tmp_path / "o1" / "index.html").as_uri())
    shoot(page, "o1-pruner")
    assert page.errors == [] and page.evaluate("document.images.length") == 3
    assert_fits_the_screen(page)
    for svg in sorted((tmp_path / "o1" / "plots").glob("pareto-*.svg")):
        assert overlapping_labels(page, svg) == [], svg.name
    page.goto((tmp_path / "o1" / "index.html").as_uri())
    gsm8k = page.locator("#table-gsm8k tr[data-entry='marco-o1-7b-fast-solving-prompt'] td")
    cells = gsm8k.all_inner_texts()
    assert "0.41" in cells and "-0.26" in cells  # the published AES beside the formula's


@pytest.mark.parametrize("name", ["cot_valve", "c3ot", "lapo", "s1", "kimi_k15"])
def test_the_literatures_tables_render(tmp_path, page, name):
    """Each published table as a page: its plots where it gives token counts, its tables alone where it gives none."""
    result = run_cli("report", str(REPO / "effbench" / "leaderboards" / f"{name}.yaml"), f"out={tmp_path / name}")
    assert result.returncode == 0, result.stderr
    page.goto((tmp_path / name / "index.html").as_uri())
    shoot(page, f"published-{name}")
    assert page.errors == [] and page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert_fits_the_screen(page)
    plots = sorted((tmp_path / name / "plots").glob("pareto-*.svg"))
    placed = {"cot_valve": ["aime24", "gsm8k"], "lapo": ["aime24", "amc23", "math500", "olympiadbench"], "kimi_k15": ["aime24"]}
    assert [svg.stem.removeprefix("pareto-") for svg in plots] == placed.get(name, [])  # tasks with token counts only
    for svg in plots:
        assert overlapping_labels(page, svg) == [], svg.name
    page.goto((tmp_path / name / "index.html").as_uri())
    if name == "cot_valve":
        row = page.locator("#table-gsm8k tr[data-entry='qwen2.5-32b-instruct-t1'] td").all_inner_texts()
        assert "1.08" in row and "1.09" in row  # ACU recomputed beside the one printed
    if name == "c3ot":
        row = page.locator("#table-gsm8k tr[data-entry='7b-c3ot'] td").all_inner_texts()
        assert any(cell.startswith("56.7") and "published" in cell for cell in row)


@pytest.mark.vllm
def test_tiny_cpu_leaderboard_from_real_runs(tmp_path, page):
    """The shipped leaderboard of real runs: the tiny reasoning model's three chain styles and a budget sweep of the
    explicit one, through the vLLM CPU engine, then the report with a frontier and a rising curve."""
    engine = ("enforce_eager=true", "dtype=float32", "limit=120")
    result = run_cli("demo", *engine, cwd=tmp_path, env={"EFFBENCH_CACHE": str(tmp_path)}, timeout=900)
    assert result.returncode == 0, result.stderr[-2000:]
    page.goto((tmp_path / "reports" / "arith" / "index.html").as_uri())  # the report `effbench demo` writes
    shoot(page, "demo-report")
    assert page.errors == [] and page.locator("#table-arith .badge.measured").count() == 3
    result = run_cli("sweep", f"model={TINY_REASONER}", f"tasks={ARITH_TASK}", f"data_dir={tmp_path / 'data'}", "system=explicit",
                     "budgets=16,24,32,48,64", "name=arith-explicit-sweep", *engine, cwd=tmp_path, timeout=900)  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    result = run_cli("report", str(REPO / "effbench" / "leaderboards" / "tiny_cpu.yaml"), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    site = tmp_path / "reports" / "tiny_cpu"
    page.goto((site / "index.html").as_uri())
    shoot(page, "tiny-cpu")
    assert page.errors == [] and page.locator("#table-arith .badge.measured").count() == 4
    values = {
        name: dict(zip(page.locator("#table-arith tbody tr").evaluate_all("rs => rs.map(r => r.dataset.entry)"),
                       (float(v) for v in page.locator(f"#table-arith tbody td.col-{name}").evaluate_all(
                           "c => c.map(x => x.dataset.value)")), strict=True))
        for name in ("accuracy", "tokens")
    }  # fmt: skip
    accuracy, tokens = values["accuracy"], values["tokens"]
    assert tokens["implicit"] < tokens["composed"] < tokens["explicit"] and accuracy["implicit"] < accuracy["explicit"]
    assert page.locator("#table-arith tr.frontier").count() >= 2  # a real frontier: more than one entry on it
    page.goto((site / "run-arith-explicit-sweep-b16.html").as_uri())
    assert page.errors == [] and page.locator("#list-arith .sample").count() == 15  # samples_per_task: the first 15 of each task
    page.goto((site / "run-arith-implicit.html").as_uri())
    assert page.errors == []
    shoot(page, "tiny-cpu-implicit-run")
    page.goto((site / "index.html").as_uri())
    assert_fits_the_screen(page)
    assert page.locator("img[src='plots/levels-arith.svg']").count() == 1  # accuracy and tokens by level, per entry
    for figure in ("plots/pareto-arith.svg", "plots/levels-arith.svg", "compare-arith-implicit.html", "run-arith-implicit.html"):
        assert overlapping_labels(page, site / figure) == [], figure


@pytest.mark.parametrize("name", ["ockbench", "matharena_aime25"])
def test_the_efficiency_leaderboards_render_by_their_shipped_names(tmp_path, page, name):
    """OckBench's 56 settings and MathArena's AIME 2025 I, named as shipped; MathArena's priced beside its tokens."""
    result = run_cli("report", name, f"out={tmp_path / name}")
    assert result.returncode == 0, result.stderr
    page.goto((tmp_path / name / "index.html").as_uri())
    shoot(page, f"published-{name}")
    assert page.errors == [] and page.evaluate("Array.from(document.images).every(i => i.complete && i.naturalWidth > 0)")
    assert_fits_the_screen(page)
    costed = sorted(svg.name for svg in (tmp_path / name / "plots").glob("cost-*.svg"))
    if name == "matharena_aime25":
        assert costed == ["cost-aime25_i.svg"]
        row = page.locator("#table-aime25_i tr[data-entry='o3-mini-high'] td").all_inner_texts()
        assert "0.2129" in row and "0.2661" in row  # $3.19 over 15 problems; over the 12 solved
    else:
        assert costed == [] and page.locator("#table-ockbench tbody tr").count() == 56
