// The browser loads /assets/core.js, @earshot/core's ESM build as the reports app serves it; tsc
// (jsconfig.json's rootDirs) finds this file for that import and takes the package's own types.
export * from '@earshot/core';
