// Drives the To-Do demo in headless Chromium (Debian's, through playwright-core): opens the
// list, adds a task, deletes it, and saves a screenshot after each step.
// Usage: node drive_todo.mjs <app url> <screenshot directory> <task title>
// Prints one JSON line: what the page showed at each step.
import { chromium } from "playwright-core";

const [url, shots, title] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu"],
});
const result = {};
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 600 } });
  const opened = await page.goto(url);
  result.opened = opened.status();
  await page.screenshot({ path: `${shots}/1-opened.png` });

  await page.fill("input[name=task]", title);
  await Promise.all([page.waitForURL(url), page.click("button[type=submit]")]);
  const item = page.locator("#tasks li", { hasText: title });
  await item.waitFor();
  result.added = await item.locator(".title").innerText();
  await page.screenshot({ path: `${shots}/2-added.png` });

  await Promise.all([page.waitForURL(url), item.locator("a.delete").click()]);
  await item.waitFor({ state: "detached" });
  result.remaining = await page.locator("#tasks li .title").allInnerTexts();
  await page.screenshot({ path: `${shots}/3-deleted.png` });
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
