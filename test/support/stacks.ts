/** The stacks whose rendered host scripts are checked: dash (test/unit/) and shellcheck (test/integration/). */
export const SCRIPT_STACKS = [
    "Pulumi.dev.yaml",
    "test/stacks/multi-site-2.8.yaml",
    "test/stacks/single-3.0.yaml",
    "test/stacks/wildcard-3.2.yaml",
    "test/stacks/fleet-2.6.yaml",
];
