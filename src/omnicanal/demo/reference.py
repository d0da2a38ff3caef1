"""The fixed part of the demo retailer "Maison Lumière": its stores and warehouse (real places), its
channels, its category tree and the vocabulary its product names are made of."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

WEEK = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def hours(weekdays: tuple[str, str], sunday: tuple[str, str] | None = None,
          saturday: tuple[str, str] | None = None) -> dict[str, list[list[str]]]:
    """Opening hours mon … sat (``saturday`` may differ), and optionally sunday; other days closed."""
    table = {day: [list(weekdays)] for day in WEEK[:6]}
    if saturday:
        table["sat"] = [list(saturday)]
    if sunday:
        table["sun"] = [list(sunday)]
    return table


@dataclass(frozen=True)
class Site:
    code: str
    name: str
    kind: str  # store | warehouse
    line1: str
    postal_code: str
    city: str
    latitude: float
    longitude: float
    opening_hours: dict[str, list[list[str]]]
    sells: bool = True
    ships: bool = False
    pickup: bool = True
    returns: bool = True
    weight: float = 1.0  # share of the chain's store traffic
    assortment: float = 0.65  # share of the catalogue the site holds

    @property
    def open_on_sunday(self) -> bool:
        return "sun" in self.opening_hours

    def address(self) -> dict[str, Any]:
        return {"line1": self.line1, "line2": None, "postal_code": self.postal_code, "city": self.city,
                "country": "FR"}


STANDARD = hours(("10:00", "19:30"))
SITES: tuple[Site, ...] = (
    Site("PAR-RIV", "Maison Lumière Paris Rivoli", "store", "112 rue de Rivoli", "75001", "Paris",
         48.8606, 2.3440, hours(("10:00", "20:00"), sunday=("11:00", "19:00")), ships=True, weight=2.2,
         assortment=0.9),
    Site("LYO-PDI", "Maison Lumière Lyon Part-Dieu", "store", "17 rue du Docteur Bouchut", "69003", "Lyon",
         45.7610, 4.8555, hours(("10:00", "20:00")), ships=True, weight=1.5, assortment=0.8),
    Site("MRS-TDP", "Maison Lumière Marseille Terrasses du Port", "store", "9 quai du Lazaret", "13002",
         "Marseille", 43.3075, 5.3660, hours(("10:00", "20:00"), sunday=("11:00", "19:00")), ships=True,
         weight=1.3, assortment=0.75),
    Site("BOD-STC", "Maison Lumière Bordeaux Sainte-Catherine", "store", "58 rue Sainte-Catherine", "33000",
         "Bordeaux", 44.8394, -0.5733, STANDARD, ships=True, weight=1.1),
    Site("LIL-EUR", "Maison Lumière Lille Euralille", "store", "100 centre commercial Euralille", "59777",
         "Lille", 50.6369, 3.0747, hours(("10:00", "20:00")), ships=True, weight=1.1),
    Site("TLS-CAP", "Maison Lumière Toulouse Capitole", "store", "12 rue d'Alsace-Lorraine", "31000",
         "Toulouse", 43.6035, 1.4450, STANDARD, weight=1.0),
    Site("NTE-CRE", "Maison Lumière Nantes Crébillon", "store", "15 rue Crébillon", "44000", "Nantes",
         47.2136, -1.5616, STANDARD, weight=0.9),
    Site("SXB-KLE", "Maison Lumière Strasbourg Kléber", "store", "3 place Kléber", "67000", "Strasbourg",
         48.5834, 7.7458, STANDARD, weight=0.8, returns=False),
    Site("NCE-MED", "Maison Lumière Nice Jean Médecin", "store", "10 avenue Jean Médecin", "06000", "Nice",
         43.7012, 7.2680, hours(("10:00", "19:30"), sunday=("10:00", "18:00")), weight=0.9),
    Site("RNS-COL", "Maison Lumière Rennes Colombia", "store", "Centre commercial Colombia, place du Colombier",
         "35000", "Rennes", 48.1055, -1.6790, STANDARD, weight=0.7, pickup=False),
    Site("MPL-POL", "Maison Lumière Montpellier Polygone", "store", "1 rue des Pertuisanes", "34000",
         "Montpellier", 43.6085, 3.8850, hours(("10:00", "19:30"), saturday=("09:30", "19:30")), weight=0.8),
    Site("GNB-FPO", "Maison Lumière Grenoble Félix Poulat", "store", "6 rue Félix Poulat", "38000", "Grenoble",
         45.1893, 5.7245, STANDARD, weight=0.6, pickup=False, returns=False, assortment=0.55),
    Site("WH-ORL", "Entrepôt central Orléans-Saran", "warehouse", "Pôle 45, 1 rue des Entrepreneurs", "45770",
         "Saran", 47.9500, 1.8750, hours(("06:00", "21:00"), saturday=("07:00", "13:00")), sells=False,
         ships=True, pickup=False, returns=False, weight=0.0, assortment=1.0),
)
WAREHOUSE = next(site.code for site in SITES if site.kind == "warehouse")


@dataclass(frozen=True)
class ChannelSpec:
    code: str
    name: str
    kind: str
    online: bool
    safety_buffer: int
    share: float  # share of the retailer's orders
    fulfillment: str  # ship | carry_out


CHANNELS: tuple[ChannelSpec, ...] = (
    ChannelSpec("web", "Site web maison-lumiere.fr", "web", True, 2, 0.25, "ship"),
    ChannelSpec("app", "Application mobile Maison Lumière", "app", True, 1, 0.12, "ship"),
    ChannelSpec("pos", "Caisses des magasins", "pos", False, 0, 0.55, "carry_out"),
    ChannelSpec("kiosk", "Bornes « allée infinie » en magasin", "kiosk", False, 0, 0.03, "ship"),
    ChannelSpec("marketplace", "Place de marché partenaire", "marketplace", True, 2, 0.05, "ship"),
)


@dataclass(frozen=True)
class Family:
    """A leaf category and how its products are named, priced and described."""

    code: str
    name: str
    prefix: str  # of its SKUs
    nouns: tuple[str, ...]
    materials: tuple[str, ...]
    price_range: tuple[int, int]  # whole euros
    sizes: tuple[str, ...] = ("Unique",)
    weight: float = 1.0  # share of the catalogue
    popularity: float = 1.0  # units sold per product, relative


COLOURS = ("blanc cassé", "écru", "noir", "terracotta", "sauge", "bleu nuit", "moutarde", "rose poudré",
           "gris perle", "vert olive", "naturel", "bordeaux", "camel", "ivoire", "anthracite")
COLLECTIONS = ("Camille", "Sélène", "Azur", "Provence", "Étoile", "Lou", "Honfleur", "Aurore", "Biarritz",
               "Céleste", "Mistral", "Garance", "Iris", "Valensole", "Ondine", "Sirocco", "Margaux", "Lison")

ROOTS = (("home", "Maison"), ("fashion", "Mode"))
FAMILIES: tuple[Family, ...] = (
    Family("home.lighting", "Luminaires", "LUM",
           ("Lampe à poser", "Suspension", "Applique murale", "Lampadaire", "Baladeuse", "Lampe de chevet"),
           ("laiton", "verre soufflé", "rotin", "céramique", "lin", "métal"), (29, 249), weight=1.0),
    Family("home.textiles", "Linge de maison", "TEX",
           ("Housse de couette", "Plaid", "Coussin", "Nappe", "Rideau", "Drap housse", "Serviette de bain"),
           ("lin lavé", "coton bio", "gaze de coton", "laine", "velours"), (15, 129),
           sizes=("140x200", "240x220", "260x240", "45x45", "Unique"), weight=1.3, popularity=1.3),
    Family("home.tableware", "Arts de la table", "TAB",
           ("Assiette plate", "Bol", "Tasse", "Carafe", "Saladier", "Verre", "Plat à tarte"),
           ("grès", "porcelaine", "faïence", "verre recyclé", "céramique émaillée"), (5, 69), weight=1.2,
           popularity=1.6),
    Family("home.decor", "Décoration", "DEC",
           ("Vase", "Miroir", "Bougie parfumée", "Cadre photo", "Panier", "Photophore"),
           ("céramique", "rotin", "verre", "laiton", "cire végétale", "jonc de mer"), (9, 89), weight=1.2,
           popularity=1.4),
    Family("home.furniture", "Mobilier", "MEU",
           ("Table basse", "Fauteuil", "Console", "Étagère", "Tabouret", "Chaise"),
           ("chêne massif", "rotin", "métal laqué", "noyer", "bouleau"), (99, 899), weight=0.6, popularity=0.3),
    Family("fashion.women", "Femme", "FEM",
           ("Robe", "Blouse", "Pull", "Jupe", "Pantalon", "Trench", "Cardigan"),
           ("lin", "coton", "viscose", "laine mérinos", "soie"), (19, 149), sizes=("34", "36", "38", "40", "42", "44"),
           weight=1.4, popularity=1.2),
    Family("fashion.men", "Homme", "HOM",
           ("Chemise", "Pull", "Pantalon chino", "Veste", "Polo", "T-shirt"),
           ("coton", "lin", "laine", "flanelle", "coton piqué"), (19, 129), sizes=("S", "M", "L", "XL", "XXL"),
           weight=1.1),
    Family("fashion.kids", "Enfant", "ENF",
           ("Salopette", "Robe", "Sweat", "Pyjama", "Body", "Gilet"),
           ("coton bio", "molleton", "gaze de coton", "laine"), (9, 59),
           sizes=("3 ans", "4 ans", "6 ans", "8 ans", "10 ans", "12 ans"), weight=0.8),
    Family("fashion.accessories", "Accessoires", "ACC",
           ("Écharpe", "Sac cabas", "Ceinture", "Chapeau", "Foulard", "Pochette"),
           ("cuir", "lin", "laine", "paille", "soie", "coton"), (9, 79), weight=0.8, popularity=1.1),
    Family("fashion.shoes", "Chaussures", "CHA",
           ("Baskets", "Espadrilles", "Bottines", "Sandales", "Mocassins", "Ballerines"),
           ("cuir", "toile", "daim", "corde"), (39, 149), sizes=("36", "37", "38", "39", "40", "41", "42", "43"),
           weight=0.6),
)


@dataclass(frozen=True)
class DemoSize:
    name: str
    products: int
    customers: int
    orders: int


SIZES = {
    "small": DemoSize("small", products=200, customers=500, orders=3_000),
    "medium": DemoSize("medium", products=1_000, customers=5_000, orders=60_000),
    "large": DemoSize("large", products=1_000, customers=5_000, orders=1_000_000),
}


@dataclass
class Counts:
    """How many rows of each table the seed wrote."""

    rows: dict[str, int] = field(default_factory=dict)

    def add(self, table: str, n: int) -> None:
        self.rows[table] = self.rows.get(table, 0) + n
