/**
 * Reference data for realistic pt-BR records: cities per state (UF) with area code (DDD) and a
 * CEP range inside the state's real range, population weights, and common first names and
 * surnames. Approximate on purpose: enough for ingestion/quality demos, not a gazetteer.
 */
export interface CityRef {
  name: string;
  ddd: number;
  /** First and last 5-digit CEP prefix of the city (inclusive). */
  cepFrom: number;
  cepTo: number;
  /** Relative share of the state's customers. */
  weight: number;
}

export interface StateRef {
  uf: string;
  /** Relative share of the operator's customers. */
  weight: number;
  cities: CityRef[];
}

const city = (name: string, ddd: number, cepFrom: number, cepTo: number, weight: number): CityRef => ({
  name,
  ddd,
  cepFrom,
  cepTo,
  weight,
});

export const STATES: StateRef[] = [
  {
    uf: "SP",
    weight: 30,
    cities: [
      city("São Paulo", 11, 1000, 5999, 50),
      city("Guarulhos", 11, 7000, 7399, 8),
      city("Campinas", 19, 13000, 13139, 8),
      city("Santo André", 11, 9000, 9299, 5),
      city("São José dos Campos", 12, 12200, 12248, 5),
      city("Ribeirão Preto", 16, 14000, 14114, 5),
      city("Sorocaba", 15, 18000, 18109, 4),
      city("Santos", 13, 11000, 11099, 4),
    ],
  },
  {
    uf: "RJ",
    weight: 13,
    cities: [
      city("Rio de Janeiro", 21, 20000, 23799, 60),
      city("Niterói", 21, 24000, 24399, 10),
      city("Duque de Caxias", 21, 25000, 25299, 10),
      city("Nova Iguaçu", 21, 26000, 26099, 9),
      city("Petrópolis", 24, 25600, 25779, 5),
      city("Campos dos Goytacazes", 22, 28000, 28099, 6),
    ],
  },
  {
    uf: "MG",
    weight: 11,
    cities: [
      city("Belo Horizonte", 31, 30000, 31999, 45),
      city("Uberlândia", 34, 38400, 38419, 14),
      city("Contagem", 31, 32000, 32399, 11),
      city("Juiz de Fora", 32, 36000, 36099, 10),
      city("Montes Claros", 38, 39400, 39409, 8),
      city("Betim", 31, 32600, 32699, 8),
    ],
  },
  {
    uf: "BA",
    weight: 6,
    cities: [
      city("Salvador", 71, 40000, 42599, 55),
      city("Feira de Santana", 75, 44000, 44109, 18),
      city("Vitória da Conquista", 77, 45000, 45099, 11),
      city("Camaçari", 71, 42800, 42849, 9),
      city("Itabuna", 73, 45600, 45609, 7),
    ],
  },
  {
    uf: "PR",
    weight: 6,
    cities: [
      city("Curitiba", 41, 80000, 82999, 50),
      city("Londrina", 43, 86000, 86099, 16),
      city("Maringá", 44, 87000, 87099, 13),
      city("Ponta Grossa", 42, 84000, 84099, 10),
      city("Cascavel", 45, 85800, 85824, 11),
    ],
  },
  {
    uf: "RS",
    weight: 6,
    cities: [
      city("Porto Alegre", 51, 90000, 91999, 50),
      city("Caxias do Sul", 54, 95000, 95124, 17),
      city("Canoas", 51, 92000, 92499, 12),
      city("Pelotas", 53, 96000, 96099, 11),
      city("Santa Maria", 55, 97000, 97119, 10),
    ],
  },
  {
    uf: "PE",
    weight: 5,
    cities: [
      city("Recife", 81, 50000, 52999, 55),
      city("Jaboatão dos Guararapes", 81, 54000, 54499, 18),
      city("Olinda", 81, 53000, 53299, 12),
      city("Caruaru", 81, 55000, 55099, 9),
      city("Petrolina", 87, 56300, 56339, 6),
    ],
  },
  {
    uf: "CE",
    weight: 4,
    cities: [
      city("Fortaleza", 85, 60000, 61599, 65),
      city("Caucaia", 85, 61600, 61699, 13),
      city("Juazeiro do Norte", 88, 63000, 63099, 12),
      city("Sobral", 88, 62000, 62099, 10),
    ],
  },
  {
    uf: "DF",
    weight: 4,
    cities: [
      city("Brasília", 61, 70000, 70999, 55),
      city("Taguatinga", 61, 72000, 72199, 20),
      city("Ceilândia", 61, 72200, 72299, 25),
    ],
  },
  {
    uf: "GO",
    weight: 4,
    cities: [
      city("Goiânia", 62, 74000, 74899, 55),
      city("Aparecida de Goiânia", 62, 74900, 74999, 20),
      city("Anápolis", 62, 75000, 75159, 15),
      city("Rio Verde", 64, 75900, 75914, 10),
    ],
  },
  {
    uf: "SC",
    weight: 4,
    cities: [
      city("Joinville", 47, 89200, 89239, 25),
      city("Florianópolis", 48, 88000, 88099, 25),
      city("Blumenau", 47, 89000, 89099, 18),
      city("Itajaí", 47, 88300, 88319, 12),
      city("Chapecó", 49, 89800, 89819, 10),
      city("Criciúma", 48, 88800, 88819, 10),
    ],
  },
  {
    uf: "PA",
    weight: 4,
    cities: [
      city("Belém", 91, 66000, 66999, 55),
      city("Ananindeua", 91, 67000, 67199, 22),
      city("Santarém", 93, 68000, 68109, 12),
      city("Marabá", 94, 68500, 68509, 11),
    ],
  },
  {
    uf: "AM",
    weight: 3,
    cities: [
      city("Manaus", 92, 69000, 69099, 85),
      city("Parintins", 92, 69150, 69154, 8),
      city("Itacoatiara", 92, 69100, 69104, 7),
    ],
  },
];

export const FEMALE_FIRST_NAMES = [
  "Maria",
  "Ana",
  "Francisca",
  "Antônia",
  "Adriana",
  "Juliana",
  "Márcia",
  "Fernanda",
  "Patrícia",
  "Aline",
  "Sandra",
  "Camila",
  "Amanda",
  "Bruna",
  "Jéssica",
  "Letícia",
  "Júlia",
  "Luciana",
  "Vanessa",
  "Mariana",
  "Gabriela",
  "Beatriz",
  "Larissa",
  "Rafaela",
  "Carolina",
  "Débora",
  "Tatiane",
  "Cláudia",
  "Renata",
  "Simone",
  "Helena",
  "Alice",
  "Laura",
  "Valentina",
  "Isabela",
  "Sofia",
  "Raimunda",
  "Luana",
  "Priscila",
  "Natália",
];

export const MALE_FIRST_NAMES = [
  "José",
  "João",
  "Antônio",
  "Francisco",
  "Carlos",
  "Paulo",
  "Pedro",
  "Lucas",
  "Luiz",
  "Marcos",
  "Luis",
  "Gabriel",
  "Rafael",
  "Daniel",
  "Marcelo",
  "Bruno",
  "Eduardo",
  "Felipe",
  "Raimundo",
  "Rodrigo",
  "Manoel",
  "Mateus",
  "André",
  "Fernando",
  "Fábio",
  "Leonardo",
  "Gustavo",
  "Guilherme",
  "Leandro",
  "Tiago",
  "Anderson",
  "Ricardo",
  "Márcio",
  "Jorge",
  "Sebastião",
  "Alexandre",
  "Roberto",
  "Diego",
  "Vinícius",
  "Miguel",
];

export const SURNAMES = [
  "Silva",
  "Santos",
  "Oliveira",
  "Souza",
  "Rodrigues",
  "Ferreira",
  "Alves",
  "Pereira",
  "Lima",
  "Gomes",
  "Costa",
  "Ribeiro",
  "Martins",
  "Carvalho",
  "Almeida",
  "Lopes",
  "Soares",
  "Fernandes",
  "Vieira",
  "Barbosa",
  "Rocha",
  "Dias",
  "Nascimento",
  "Andrade",
  "Moreira",
  "Nunes",
  "Marques",
  "Machado",
  "Mendes",
  "Freitas",
  "Cardoso",
  "Ramos",
  "Gonçalves",
  "Santana",
  "Teixeira",
  "Araújo",
  "Pinto",
  "Correia",
  "Cavalcanti",
  "Monteiro",
  "Moura",
  "Batista",
  "Campos",
  "Rezende",
  "Castro",
  "Barros",
  "Farias",
  "Pires",
  "Azevedo",
  "Xavier",
];
