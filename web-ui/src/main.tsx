import { render } from 'preact';
import { App } from './app.js';
import './style.css';

render(<App />, document.getElementById('app')!);
// index.html paints a line of text before this script runs; the app replaces it.
document.getElementById('boot')?.remove();
