"""Flower-wholesale vocabulary the sandbox draws its records from.

Plain tuples, kept apart from the generator so the generator reads as logic.
The names are invented; any resemblance to a real shop is a coincidence.
"""

from __future__ import annotations

from typing import Final

#: Customer types as (Komet customer type id, name); ``customer.update`` takes the id.
CUSTOMER_TYPES: Final = (
    (1, "PART-TIME FLORIST"),
    (2, "Retailer"),
    (3, "Wholesaler"),
    (4, "Supermarket"),
    (5, "Event Planner"),
    (6, "Florist"),
    (7, "Wedding Designer"),
    (8, "Mass Market"),
    (9, "Hotel & Restaurant"),
    (10, "Internet Florist"),
)

#: How often each type occurs (same order as CUSTOMER_TYPES).
CUSTOMER_TYPE_WEIGHTS: Final = (14, 18, 8, 6, 10, 22, 6, 5, 5, 6)

#: Sales people as (name, code); their Komet ids are drawn per seed.
SALES_PEOPLE: Final = (
    ("Julian Mejía", "JME"),
    ("Laura Gómez", "LGO"),
    ("Andrés Restrepo", "ARE"),
    ("Catalina Vélez", "CVE"),
    ("Mike Thompson", "MTH"),
    ("Sarah Collins", "SCO"),
    ("David Chen", "DCH"),
    ("Paola Ríos", "PRI"),
    ("Kevin Brooks", "KBR"),
    ("Natalia Ortiz", "NOR"),
    ("Jorge Castaño", "JCA"),
    ("Emily Foster", "EFO"),
    ("Santiago Duque", "SDU"),
    ("Rachel Stein", "RST"),
    ("Luis Herrera", "LHE"),
    ("Mónica Arango", "MAR"),
)

#: Warehouses / branches as (Komet location id, code, name).
LOCATIONS: Final = (
    (101, "MIA", "Miami Warehouse"),
    (102, "NYC", "New York Branch"),
    (103, "LAX", "Los Angeles Branch"),
    (104, "BOG", "Bogotá Farm Office"),
)

FIRST_NAMES: Final = (
    "Maria", "Julian", "Sofia", "Carlos", "Emma", "Olivia", "Liam", "Lucia", "Daniel",
    "Ava", "Mateo", "Grace", "Isabella", "Diego", "Hannah", "Camila", "Noah", "Valentina",
    "Rose", "Lily", "Violet", "Ethan", "Chloe", "Gabriel", "Elena", "Marco", "Ingrid",
    "Priya", "Mei", "Oscar", "Fatima", "Jonas", "Ana", "Peter", "Claire", "Tomas",
)  # fmt: skip

SURNAMES: Final = (
    "Mejía", "Garcia", "Smith", "Johnson", "Rodriguez", "Martinez", "Brown", "Lopez",
    "Nguyen", "Kim", "Patel", "Rossi", "Müller", "O'Brien", "Cohen", "Hernandez", "Torres",
    "Walker", "Clark", "Rivera", "Gomez", "Diaz", "Moreno", "Bianchi", "Dubois", "Novak",
    "Jansen", "Silva", "Murphy", "Kowalski", "Tanaka", "Haddad", "Olsen", "Baker", "Fleur",
)  # fmt: skip

SHOP_WORDS: Final = (
    "Bella", "Wild", "Golden", "Blue Door", "Sweet Pea", "Little", "Urban", "Secret Garden",
    "Rustic", "Velvet", "Sunny", "Willow", "Magnolia", "Juniper", "Bloom Room", "Lavender",
    "Poppy", "Ivy Lane", "Peony", "Orchid House", "Evergreen", "Daisy Chain", "Tulip Tree",
)  # fmt: skip

SHOP_NOUNS: Final = ("Blooms", "Petals", "Stems", "Garden", "Bouquets", "Posies", "Florals")

SUPERMARKET_CHAINS: Final = (
    "FreshWay Market", "Green Basket", "Valley Foods", "Sunrise Grocers", "Harvest Market",
    "Corner Fresh", "Nature's Pantry", "Maple Leaf Grocery",
)  # fmt: skip

#: Ship-to cities as (city, state, zip prefix, country).
CITIES: Final = (
    ("Miami", "FL", "331", "United States"),
    ("Doral", "FL", "331", "United States"),
    ("Orlando", "FL", "328", "United States"),
    ("New York", "NY", "100", "United States"),
    ("Brooklyn", "NY", "112", "United States"),
    ("Los Angeles", "CA", "900", "United States"),
    ("San Diego", "CA", "921", "United States"),
    ("Chicago", "IL", "606", "United States"),
    ("Houston", "TX", "770", "United States"),
    ("Dallas", "TX", "752", "United States"),
    ("Atlanta", "GA", "303", "United States"),
    ("Boston", "MA", "021", "United States"),
    ("Seattle", "WA", "981", "United States"),
    ("Denver", "CO", "802", "United States"),
    ("Phoenix", "AZ", "850", "United States"),
    ("Toronto", "ON", "M5V", "Canada"),
)

STREETS: Final = (
    "NW 25th St", "Flagler St", "Main St", "Broadway", "Market St", "Ocean Dr", "Elm Ave",
    "Commerce Blvd", "Industrial Pkwy", "Biscayne Blvd", "Sunset Blvd", "Peachtree Rd",
)  # fmt: skip

#: Product divisions as (divisionId, divisionDescription).
DIVISIONS: Final = ((1, "FreshCutFlowers"), (2, "Plants"), (3, "Hard Goods"))

_STEM_GRADES = ("40cm", "50cm", "60cm", "70cm", "80cm", "90cm")
_SHORT_GRADES = ("40cm", "50cm", "60cm")
_CARNATION_GRADES = ("Fancy", "Select", "Standard")
_POT_GRADES = ("4in", "5in", "6in", "8in")
_SIZES = ("Small", "Medium", "Large")
_FLOWER_COLORS = (
    "Red", "White", "Pink", "Hot Pink", "Yellow", "Orange", "Peach", "Lavender", "Purple",
    "Cream", "Bicolor", "Burgundy", "Green", "Coral",
)  # fmt: skip

#: Product categories: (name, code prefix, division id, varieties, colors, grades).
CATEGORIES: Final = (
    ("Rose", "RS", 1,
     ("Freedom", "Explorer", "Vendela", "Playa Blanca", "Mondial", "Pink Floyd", "Hearts",
      "Deep Purple", "Country Blues", "Brighton", "Tara", "Nina", "Sweetness", "Free Spirit",
      "Quicksand", "Shimmer", "High & Magic", "Momentum"),
     _FLOWER_COLORS, _STEM_GRADES),
    ("Spray Rose", "SR", 1,
     ("Lydia", "Majolika", "Snowflake", "Babe", "Yellow Babe", "Mikado", "Fire Flash"),
     _FLOWER_COLORS, _SHORT_GRADES),
    ("Carnation", "CN", 1,
     ("Moonlight", "Don Pedro", "Nobbio Violet", "Antigua", "Komachi", "Zurigo", "Brut"),
     _FLOWER_COLORS, _CARNATION_GRADES),
    ("Mini Carnation", "MC", 1, ("Rony", "Bagatel", "Cherry Tessino", "Epsilon"),
     _FLOWER_COLORS, _CARNATION_GRADES),
    ("Alstroemeria", "AL", 1, ("Virginia", "Whistler", "Mayfair", "Sirius", "Tessa"),
     _FLOWER_COLORS, ("Select", "Fancy", "Premium")),
    ("Chrysanthemum", "CH", 1, ("Cushion", "Daisy", "Button", "Spider", "Santini"),
     ("White", "Yellow", "Green", "Bronze", "Lavender"), ("Premium", "Standard")),
    ("Gerbera", "GB", 1, ("Mini", "Standard", "Pasta"), _FLOWER_COLORS, ("Select", "Premium")),
    ("Hydrangea", "HY", 1, ("Premium", "Select", "Jumbo"),
     ("White", "Blue", "Pink", "Green", "Antique"), ("Premium", "Select")),
    ("Lily", "LL", 1, ("Oriental Stargazer", "Asiatic", "LA Hybrid", "Longiflorum"),
     ("Pink", "White", "Yellow", "Orange"), ("2 Blooms", "3-4 Blooms", "5+ Blooms")),
    ("Tulip", "TU", 1, ("Single", "Double", "French", "Parrot"), _FLOWER_COLORS,
     ("35cm", "40cm", "50cm")),
    ("Gypsophila", "GY", 1, ("Million Star", "Xlence", "Overtime"), ("White", "Tinted Pink"),
     ("80cm 750gr", "80cm 1000gr")),
    ("Eucalyptus", "EU", 1, ("Silver Dollar", "Baby Blue", "Seeded", "Parvifolia"),
     ("Green",), ("Standard",)),
    ("Sunflower", "SF", 1, ("Sunrich", "Vincent", "Teddy Bear"), ("Yellow", "Orange"),
     ("60cm", "70cm")),
    ("Lisianthus", "LS", 1, ("Rosita", "Arena", "Echo"), _FLOWER_COLORS, ("Select", "Premium")),
    ("Ranunculus", "RA", 1, ("Elegance", "Pon Pon", "Cloni"), _FLOWER_COLORS,
     ("40cm", "50cm")),
    ("Peony", "PE", 1, ("Sarah Bernhardt", "Coral Charm", "Duchesse"), ("Pink", "White", "Coral"),
     ("Premium",)),
    ("Orchid Phalaenopsis", "OP", 2, ("1 Spike", "2 Spike", "Cascade"),
     ("White", "Pink", "Purple"), _POT_GRADES),
    ("Succulent", "SU", 2, ("Echeveria", "Haworthia", "Sedum", "Assorted"), ("Green", "Mixed"),
     ("2in", "4in")),
    ("Kalanchoe", "KA", 2, ("Calandiva", "Standard"), ("Red", "Yellow", "Orange", "Pink"),
     _POT_GRADES),
    ("Bromeliad", "BR", 2, ("Guzmania", "Vriesea", "Aechmea"), ("Red", "Yellow", "Orange"),
     _POT_GRADES),
    ("Pothos", "PO", 2, ("Golden", "Marble Queen", "Neon"), ("Green",), _POT_GRADES),
    ("Vase", "VA", 3, ("Cylinder", "Bubble", "Trumpet", "Cube"), ("Clear", "Black", "Gold"),
     _SIZES),
    ("Ribbon", "RB", 3, ("Satin #9", "Satin #40", "Grosgrain", "Burlap"),
     ("Red", "White", "Ivory", "Gold", "Navy"), ("25yd", "50yd", "100yd")),
    ("Floral Foam", "FF", 3, ("Brick", "Sphere", "Wreath Ring"), ("Green",), ("Standard",)),
    ("Sleeve", "SL", 3, ("Clear Cello", "Printed Kraft", "Floral Print"), ("Clear", "Kraft"),
     ("20in", "24in")),
    ("Gift Box", "GX", 3, ("Round", "Square", "Heart"), ("Black", "White", "Red"), _SIZES),
)  # fmt: skip

TAGS: Final = (
    "standard", "xmas", "valentines", "mothers-day", "premium", "wedding", "farm-direct",
    "organic", "easter", "seasonal", "fair-trade", "rainforest-alliance",
)  # fmt: skip

VENDORS: Final = (
    "Rosaprima", "Flores El Capiro", "Alexandra Farms", "Hoja Verde", "Sunshine Bouquet",
    "Fiorentina Flowers", "Naranjo Roses", "Ecoroses", "Flores La Virginia", "Golden Flowers",
    "Plantas del Sol", "Andean Orchids",
)  # fmt: skip

CARRIERS: Final = (
    "FedEx", "UPS", "Armellini", "USA Logistics", "Our Truck", "Customer Pick Up",
    "Florida Beauty Express",
)  # fmt: skip

PRICE_LISTS: Final = (
    "Standard", "Wholesale A", "Wholesale B", "Supermarket 2025", "Event Pricing", "Retail",
)  # fmt: skip

WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

BOX_TYPES: Final = ("HB", "QB", "EB", "FB")

#: Custom fields a company might define on order lines, as (name, possible descriptions).
CUSTOM_FIELDS: Final = (
    ("Sleeve", ("Clear 20in", "Printed 24in", "No sleeve")),
    ("Food", ("Yes", "No")),
    ("UPC", ("UPC on sleeve", "UPC on box", "Price tag $12.99")),
    ("Box Label", ("Store label", "Customer PO on box")),
    ("Pick Sequence", ("First", "Second", "Last")),
)
