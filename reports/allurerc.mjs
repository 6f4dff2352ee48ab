// Allure 3 configuration for sbc-harness (used by `sbc-harness report`).
// Cases are grouped by requirement area (the Allure "feature" label), then by
// suite module; the page is the "awesome" report, English, light theme.
export default {
  name: "sbc-harness conformance report",
  plugins: {
    awesome: {
      options: {
        groupBy: ["feature", "suite"],
        reportLanguage: "en",
        theme: "light",
      },
    },
  },
};
