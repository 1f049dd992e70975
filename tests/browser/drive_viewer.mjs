// Drives otlpd's trace viewer in headless Chromium: searches service + tag, opens the first
// trace found, opens one of its spans, saving screenshots. Prints one JSON line of what the
// page showed. Usage: node drive_viewer.mjs <viewer url> <screenshot directory> <tags> <span to open>
import { chromium } from "playwright-core";

const [url, shots, tags, spanName] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const result = { pageErrors: [] };
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  page.on("pageerror", (e) => result.pageErrors.push(e.message));
  await page.goto(url);
  await page.waitForSelector("#service option:text-is('todo')", { state: "attached" });
  await page.selectOption("#service", "todo");
  await page.fill("#tags", tags);
  await page.click("#find");
  await page.waitForSelector(".trace-item");
  result.results = await page.locator(".trace-item .trace-title span:first-child").allInnerTexts();
  await page.screenshot({ path: `${shots}/4-viewer-search.png` });

  await page.locator(".trace-item a").first().click();
  await page.waitForSelector(".tl-row.span");
  result.title = await page.locator(".trace-header h1").innerText();
  result.rows = await page.locator(".tl-row.span").evaluateAll((rows) => rows.map((r) => ({
    service: r.querySelector(".svc").textContent.trim(),
    operation: r.querySelector(".op").textContent.trim(),
    indent: parseFloat(r.querySelector(".tl-name").style.paddingLeft),
    error: r.classList.contains("is-error"),
  })));
  await page.locator(".tl-row.span", { hasText: spanName }).first().locator(".tl-name").click();
  await page.waitForSelector(".detail");
  result.detail = await page.locator(".detail").innerText();
  await page.screenshot({ path: `${shots}/5-viewer-trace.png`, fullPage: true });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
