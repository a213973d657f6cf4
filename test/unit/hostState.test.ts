/** Drift detection's pure pieces: the repair tokens, the observation's records and the messages. */
import { expect } from "chai";
import { driftMessages, type HostObservation, NO_RECORD, parseObservation, repairTokens, withRepairToken } from "../../components/hostState";

describe("drift: repair tokens", () => {
    const fresh = () => "f00d";

    it("keeps each step's recorded token while nothing drifted, and gives a new one where something did", () => {
        const observation: HostObservation = {
            config: { token: "1a2b", drift: "" },
            renewal: { token: "3c4d", drift: "/etc/cron.d/x is missing" },
            container: { token: "", drift: "" },
        };
        expect(repairTokens(observation, fresh)).to.deep.equal({ config: "1a2b", renewal: "f00d", container: "" });
    });

    it("treats a recorded token that is not one of ours as drift (a host that is not what it says)", () => {
        expect(repairTokens({ config: { token: "'; rm -rf /", drift: "" } }, fresh)).to.deep.equal({ config: "f00d" });
    });

    it("sets the token on the script's first line, quoted", () => {
        expect(withRepairToken("set -eu\n", "1a2b")).to.equal("repair_token=1a2b\nset -eu\n");
        expect(withRepairToken("set -eu\n", undefined)).to.equal("repair_token=''\nset -eu\n");
    });

    it("reads the observation's records, tabs inside a drift included", () => {
        expect(parseObservation("config\t1a2b\t\nrenewal\t\t/x is missing\tand more\n")).to.deep.equal({
            config: { token: "1a2b", drift: "" },
            renewal: { token: "", drift: "/x is missing and more" },
        });
    });

    it("says what drifted, but nothing on a host edge-proxy has not prepared yet and nothing for steps with no record", () => {
        expect(
            driftMessages({
                prepare: { token: "1a2b", drift: "" },
                config: { token: "1a2b", drift: "/cfg/haproxy.cfg was changed" },
                renewal: { token: "", drift: NO_RECORD },
            }),
        ).to.deep.equal(["config: /cfg/haproxy.cfg was changed"]);
        expect(driftMessages({ prepare: { token: "", drift: "/srv/haproxy/cfg is missing" }, config: { token: "", drift: NO_RECORD } })).to.deep.equal([]);
    });
});
