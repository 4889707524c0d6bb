// The process's own baseline for the memory benchmark: the library and the training
// backend loaded, no data (the peak RSS of this script is what a run costs before reading).
import { initBackend } from '../src/index.js';

await initBackend('wasm');
