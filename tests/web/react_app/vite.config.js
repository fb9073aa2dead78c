// Served by the test frontend under /react-app/; not minified, so a failure's stack reads as the source.
export default { base: "/react-app/", build: { target: "es2022", minify: false } };
