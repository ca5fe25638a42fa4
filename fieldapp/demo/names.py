"""Name lists for the demo program: common in the Alto Mayo (San Martín) region."""

GIVEN_MALE = [
    "Juan", "José", "Luis", "Segundo", "Wilmer", "Elmer", "Jorge", "Carlos", "Manuel", "Santos",
    "Edwin", "Víctor", "Nilo", "Róger", "Alcides", "Teófilo", "Hermógenes", "Eusebio", "Ángel",
    "Darwin", "Henry", "Percy", "Julián", "Aurelio", "Fidel", "Germán", "Agustín", "Raúl",
]
GIVEN_FEMALE = [
    "María", "Rosa", "Carmen", "Nilda", "Elena", "Flor", "Gladys", "Marleni", "Yolanda", "Luz",
    "Doris", "Santos Isabel", "Ruth", "Marisol", "Nelly", "Zoila", "Edith", "Elsa", "Irma",
    "Maribel", "Lucía", "Teresa", "Ñusta", "Sofía", "Leonor", "Dina", "Anita", "Blanca",
]
SURNAMES = [
    "Huamán", "Quispe", "Tuanama", "Fernández", "Guevara", "Vásquez", "Sánchez", "Tapia", "Díaz",
    "Chuquizuta", "Rojas", "Torres", "Cubas", "Campos", "Delgado", "Muñoz", "Pérez", "Cieza",
    "Bustamante", "Saldaña", "Mego", "Idrogo", "Carranza", "Tenorio", "Mondragón", "Núñez",
    "Altamirano", "Julca", "Chávez", "Herrera", "Yalta", "Tocto", "Cotrina", "Ocaña", "Peña",
    "Córdova", "Alarcón", "Bardales", "Burga", "Coronel",
]
COMMUNITIES = [
    "Nueva Esperanza", "San Juan de Río Soritor", "Alto Perú", "La Primavera",
    "Valle de la Conquista",
    "El Afluente", "Nuevo Edén", "Bajo Naranjillo", "Aguas Claras", "Santa Rosa de Mayo",
    "Los Ángeles", "San Francisco de Yuracyacu", "Paraíso", "Jorge Chávez", "La Esperanza del Mayo",
    "Miraflores", "El Dorado", "San Martín de Venceremos", "Nuevo Progreso", "Salas",
    "Ucrania", "Vista Alegre", "El Triunfo", "Nueva Libertad", "Cañón del Mayo",
]
DISTRICTS = ["Moyobamba", "Soritor", "Jepelacio", "Awajún", "Pardo Miguel", "Rioja", "Yuracyacu"]
TRAINING_TOPICS = [
    "Poda y renovación de cafetales", "Manejo de sombra en café", "Elaboración de abonos orgánicos",
    "Control de la roya del café", "Cosecha y postcosecha del café", "Viveros forestales",
    "Prevención de incendios forestales", "Monitoreo comunitario del bosque",
    "Uso de cocinas mejoradas", "Manejo de residuos y agua segura", "Buenas prácticas de secado",
]
PLACES = ["Local comunal", "Escuela primaria", "Parcela demostrativa",
          "Casa del teniente gobernador"]
