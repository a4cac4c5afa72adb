/** `npm run bundle`: the functions' bundles and the CLI's, built before tests, synth and packing. */
import { bundleAllFunctions, bundleCli } from './bundling';

bundleAllFunctions();
bundleCli();
