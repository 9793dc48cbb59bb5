// Vite's defaults: the package must work without configuration.
export default {};
