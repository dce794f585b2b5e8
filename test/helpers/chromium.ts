// Debian's chromium for the browser tests. One definition with the benchmark (bench/chromium.ts: bench/ may not
// import test/, so the tests take it from there).
export { CHROMIUM, HAVE_CHROMIUM, launchChromium } from '../../bench/chromium.js';
