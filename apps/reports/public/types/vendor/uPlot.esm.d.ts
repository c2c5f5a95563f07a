// The browser loads /vendor/uPlot.esm.js from uPlot's npm package as the reports app serves it; tsc
// (jsconfig.json's rootDirs) finds this file for that import and takes the package's own types.
import uPlot from 'uplot';

export default uPlot;
