import IOCModel

/// Topologies built in code, so tests in any module get a federation without file I/O.
public enum TopologyFixtures {
    /// The same federation as `Topology/test-small.yaml` (a test keeps them equal): the province
    /// node `province`, ward OCs `hai-chau` and `thanh-khe`, and the health sector OC `health`.
    public static func small() -> Topology {
        Topology(
            federation: "test-small",
            units: [
                AdminUnit(code: "48", name: "Thành phố Đà Nẵng", level: .province),
                AdminUnit(code: "20194", name: "Phường Hải Châu", level: .ward, parent: "48", validFrom: "2025-07-01"),
                AdminUnit(code: "20200", name: "Phường Thanh Khê", level: .ward, parent: "48", validFrom: "2025-07-01"),
                AdminUnit(
                    code: "so-y-te", name: "Sở Y tế", level: .sector, parent: "48", sector: "health",
                    categories: ["food-safety", "epidemic"]),
            ],
            nodes: [
                NodeDescriptor(id: "province", mode: .province, unit: "48", url: "https://127.0.0.1:8443"),
                NodeDescriptor(
                    id: "hai-chau", mode: .district, unit: "20194", parent: "province", url: "https://127.0.0.1:8444"),
                NodeDescriptor(
                    id: "thanh-khe", mode: .district, unit: "20200", parent: "province", url: "https://127.0.0.1:8445"),
                NodeDescriptor(
                    id: "health", mode: .sector, unit: "so-y-te", parent: "province", url: "https://127.0.0.1:8446"),
            ],
            sharing: sampleSharing)
    }

    /// The sharing rules of the shipped topologies (`Topology/test-small.yaml`, `da-nang.yaml`).
    public static let sampleSharing: JSONValue = [
        "version": 1,
        "rules": [
            ["name": "Field reports go up to the province", "kinds": ["fieldReport"], "to": ["province"], "direction": "up"],
            [
                "name": "The province relays each field report to the sector OC that handles its category",
                "kinds": ["fieldReport"], "to": ["sector"], "scope": "category",
            ],
            [
                "name": "A local OC sees the field reports of its unit, including those assigned to it",
                "kinds": ["fieldReport"], "to": ["district"], "scope": "unit",
            ],
            [
                "name": "Alerts and directives go down to the units in their area", "kinds": ["alert", "directive"],
                "to": ["district", "sector"], "direction": "down", "scope": "area",
            ],
            ["name": "Alerts raised by local OCs go up to the province", "kinds": ["alert"], "to": ["province"], "direction": "up"],
            [
                "name": "Stations, observations, dossier counts and KPIs go up to the province",
                "kinds": ["station", "observation", "dossier", "kpi"], "to": ["province"], "direction": "up",
            ],
        ],
    ]
}
